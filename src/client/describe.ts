// Received messages as readable text, in the manner of Spread's spuser (used by `ringcast user`).
import { spreadGroupIdText, type ReceivedMessage } from './received';
import { typeFlagNames } from '../wire/client';

const PREVIEW_BYTES = 200;

/** The data as text when it looks like text (trailing newline dropped), else a hex preview. */
export function previewData(data: Buffer): string {
  const body = data.length > 0 && data[data.length - 1] === 0x0a ? data.subarray(0, data.length - 1) : data;
  // Spread tools often send C strings with NUL padding: show the text before it.
  const nul = body.indexOf(0);
  const text = nul >= 0 && body.subarray(nul).every((b) => b === 0) ? body.subarray(0, nul) : body;
  const printable = text.every((b) => b === 0x09 || (b >= 0x20 && b !== 0x7f));
  if (printable) {
    const s = text.toString('utf8');
    return s.length > PREVIEW_BYTES ? `${s.slice(0, PREVIEW_BYTES)}…` : s;
  }
  const hex = body.subarray(0, PREVIEW_BYTES / 2).toString('hex');
  return `<hex ${hex}${body.length > PREVIEW_BYTES / 2 ? '…' : ''}>`;
}

/** Lines describing a received message; `self` is the receiving session's private group. */
export function describeMessage(message: ReceivedMessage, self: string): string[] {
  switch (message.type) {
    case 'message': {
      const endian = message.endianMismatch ? ', sender byte order differs' : '';
      return [
        `received ${message.service} message from ${message.sender}, type ${message.messType}${endian}, to ${message.groups.length} group(s) ${message.groups.join(' ')}`,
        `  (${message.data.length} bytes): ${previewData(message.data)}`,
      ];
    }
    case 'reject':
      return [
        `REJECTED message (${typeFlagNames(message.rejectedType)}) from ${message.sender} to ${message.groups.join(' ')}, type ${message.messType}`,
        `  (${message.data.length} bytes): ${previewData(message.data)}`,
      ];
    case 'membership':
      switch (message.kind) {
        case 'self-leave':
          return [`left group ${message.group} (self-leave)`];
        case 'transitional':
          return [`TRANSITIONAL membership for group ${message.group} (ending id ${spreadGroupIdText(message.groupId)}): messages until the next regular membership were delivered in the reduced configuration`];
        case 'regular': {
          const me = message.members.indexOf(self);
          const lines = [
            `REGULAR membership for group ${message.group} with ${message.members.length} member(s)${me >= 0 ? `, where I am member ${me}` : ''}:`,
            ...message.members.map((m) => `\t${m}`),
            `  group id ${spreadGroupIdText(message.groupId)}`,
          ];
          if (message.cause === 'NETWORK') {
            lines.push(`  due to a NETWORK change, ${message.vsSets.length} virtual synchrony set(s):`);
            message.vsSets.forEach((set, i) => lines.push(`  ${i === message.localVsSetIndex ? '*' : ' '} set ${i}: ${set.join(' ')}`));
          } else {
            lines.push(`  due to the ${message.cause} of ${message.changedMember ?? message.vsSets.flat().join(' ')}`);
          }
          return lines;
        }
      }
  }
}
