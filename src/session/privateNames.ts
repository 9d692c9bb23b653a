// Private names of this daemon's sessions: unique per daemon (REJECT_NOT_UNIQUE), invented for
// clients that send none (Spread: `r<random>-<connection>`). A name stays taken until the
// session's KILL has gone through the ring, as in Spread, so a member never has two lives at once.
import type { SpreadCodeName } from '../errors';
import { generatedPrivateName, privateGroupName } from '../wire/client/names';
import type { NameClaimer } from './handshake';

export class PrivateNames {
  private readonly taken = new Set<string>();

  constructor(
    private readonly daemonName: string,
    private readonly random: () => number,
  ) {}

  get size(): number {
    return this.taken.size;
  }

  /** A claimer for one connection (`connection` numbers generated names). */
  claimerFor(connection: number): NameClaimer {
    return {
      claim: (requested) => this.claim(requested, connection),
      release: (privateGroup) => this.release(privateGroup),
    };
  }

  claim(requested: string, connection: number): { privateGroup: string } | { reject: SpreadCodeName; detail: string } {
    if (requested === '') {
      for (let attempt = 0; attempt < 100; attempt++) {
        const privateGroup = privateGroupName(generatedPrivateName(Math.floor(this.random() * 9999), connection + attempt * 100003), this.daemonName);
        if (!this.taken.has(privateGroup)) {
          this.taken.add(privateGroup);
          return { privateGroup };
        }
      }
      return { reject: 'REJECT_NO_NAME', detail: 'no free generated name' };
    }
    const privateGroup = privateGroupName(requested, this.daemonName);
    if (this.taken.has(privateGroup)) return { reject: 'REJECT_NOT_UNIQUE', detail: `private name ${requested} is in use` };
    this.taken.add(privateGroup);
    return { privateGroup };
  }

  release(privateGroup: string): void {
    this.taken.delete(privateGroup);
  }
}
