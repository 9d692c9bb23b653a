// spread.conf tokens. Spread's lexer (config_gram.l) knows keywords; ours only splits the text
// into words, quoted strings and punctuation, and the parser decides what a word means there.
// That lets errors say "expected X" in context instead of "syntax error".

import { ConfigError } from '../errors';

export type TokenKind = 'word' | 'string' | '{' | '}' | '=' | ';' | '!' | 'eof';

export interface Position {
  /** 1-based. */
  line: number;
  /** 1-based, in characters; a tab counts as one. */
  column: number;
}

export interface Token extends Position {
  kind: TokenKind;
  /** The word, the string without its quotes, or the punctuation itself ('' for eof). */
  text: string;
}

const PUNCTUATION = new Set(['{', '}', '=', ';']);

/** Whitespace as Spread's lexer sees it (`\r` included, so CRLF files work). */
function isSpace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n' || ch === '\v' || ch === '\f';
}

/** A word runs until whitespace, a comment or punctuation. Unlike Spread, `=` and `;` end a
 *  word, so `Window=160` and `d1 10.0.0.1;` read as intended. `:` `[` `]` stay inside words
 *  for ADDR:PORT and [IPv6]:PORT. */
function endsWord(ch: string): boolean {
  return isSpace(ch) || ch === '#' || PUNCTUATION.has(ch);
}

/**
 * Splits spread.conf text into tokens; the last is always `eof`.
 * @throws ConfigError for a quoted string not closed on its line.
 */
export function tokenize(text: string, file: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const at = (index: number): Position => ({ line, column: index - lineStart + 1 });

  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '\n') {
      i++;
      line++;
      lineStart = i;
    } else if (isSpace(ch)) {
      i++;
    } else if (ch === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (PUNCTUATION.has(ch) || ch === '!') {
      tokens.push({ kind: ch as TokenKind, text: ch, ...at(i) });
      i++;
    } else if (ch === '"' || ch === "'") {
      const close = text.indexOf(ch, i + 1);
      const newline = text.indexOf('\n', i + 1);
      if (close < 0 || (newline >= 0 && newline < close)) {
        const pos = at(i);
        throw new ConfigError('unterminated quoted string', file, pos.line, pos.column, `close it with ${ch} on the same line`);
      }
      tokens.push({ kind: 'string', text: text.slice(i + 1, close), ...at(i) });
      i = close + 1;
    } else {
      const start = i;
      while (i < text.length && !endsWord(text[i]!)) i++;
      tokens.push({ kind: 'word', text: text.slice(start, i), ...at(start) });
    }
  }
  tokens.push({ kind: 'eof', text: '', ...at(i) });
  return tokens;
}

/** How a token reads in an error message. */
export function describeToken(token: Token): string {
  switch (token.kind) {
    case 'eof':
      return 'end of file';
    case 'string':
      return `"${token.text}"`;
    case 'word':
      return `'${token.text}'`;
    default:
      return `'${token.kind}'`;
  }
}
