// Spread's client authentication, daemon side: the methods ringcast runs and the policy one
// connection is judged by. Spread's methods are modules that may talk to the client; both of
// ringcast's decide from what the daemon already knows, so the handshake stays the protocol's
// (auth list, the client's choice, then the accept or REJECT_AUTH):
//   NULL — everyone (Spread's default).
//   IP   — TCP clients whose address is in IpAllow. Unix-socket clients are local and pass: the
//          socket's mode, owner and group decide who reaches it.
// A client may choose several methods (up to three); each must be allowed and must pass, and
// every required method must be among them.
import type { ClientOrigin } from './clientOrigin';
import type { AuthPolicy } from './handshake';
import type { IpAllowList } from './ipAllowList';

/** Auth methods this daemon can run. */
export const SUPPORTED_AUTH_METHODS: readonly string[] = ['NULL', 'IP'];

export interface AuthSettings {
  readonly allowedAuthMethods: readonly string[];
  readonly requiredAuthMethods: readonly string[];
}

/** Why `method` refuses a client from `origin`, or undefined when it lets it in. */
function refusal(method: string, origin: ClientOrigin, ipAllow: IpAllowList): string | undefined {
  switch (method) {
    case 'NULL':
      return undefined;
    case 'IP':
      if (origin.kind === 'local' || ipAllow.allows(origin.address)) return undefined;
      return `address ${origin.address || '(gone)'} is not in IpAllow`;
    default:
      return `auth method ${method} is not supported by this daemon`;
  }
}

/** The policy for one connection: the configured methods, judged against where it comes from. */
export function authPolicyFor(settings: AuthSettings, ipAllow: IpAllowList, origin: ClientOrigin): AuthPolicy {
  return {
    allowedAuthMethods: settings.allowedAuthMethods,
    requiredAuthMethods: settings.requiredAuthMethods,
    refusal: (method) => refusal(method, origin, ipAllow),
  };
}
