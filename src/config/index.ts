// spread.conf: read, check and resolve a Spread 4/5 configuration file (plus ringcast's
// extensions) into a SpreadConfig. See spread.conf.example at the repository root.

import { readFileSync } from 'node:fs';
import { RingcastError } from '../errors';
import { parseSyntax } from './parser';
import { resolveConfig } from './resolve';
import type { SpreadConfig } from './types';

/**
 * Parses spread.conf text; `file` names it in error messages.
 * @throws ConfigError (code 'CONFIG') with file:line:column, what was expected, and a hint.
 */
export function parseConfig(text: string, file = 'spread.conf'): SpreadConfig {
  return resolveConfig(parseSyntax(text, file));
}

/**
 * Reads and parses a spread.conf file.
 * @throws RingcastError (code 'CONFIG') if the file cannot be read; ConfigError if it is invalid.
 */
export function loadConfig(path: string): SpreadConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new RingcastError('CONFIG', `cannot read configuration file ${path}: ${(cause as Error).message}`, { cause });
  }
  return parseConfig(text, path);
}

export { findLocalHost, localAddresses } from './local';
export { daemonVid, configHash, canonicalConfigText, oneAtATime, fnv1a32 } from './hash';
export { DEFAULT_PORT } from './parser';
export { LAN_TIMEOUTS, WAN_TIMEOUTS, DEFAULT_PAYLOAD_BUDGET, DEFAULT_MAX_MESSAGE_SIZE, OPTION_NAMES } from './options';
export { DEBUG_FLAGS, EVENT_PRIORITIES } from './types';
export type {
  ConfigOptions, DebugFlag, EventPriority, HostEntry, IpFamily, MultipathMode, PortReuse, Segment, SpreadConfig, Timeouts,
} from './types';
