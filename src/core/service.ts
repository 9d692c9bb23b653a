// Service types, with Spread's flag values (sp.h) so the client protocol maps one to one.

export const Service = {
  UNRELIABLE: 0x01,
  RELIABLE: 0x02,
  FIFO: 0x04,
  CAUSAL: 0x08,
  AGREED: 0x10,
  SAFE: 0x20,
} as const;
export type ServiceName = keyof typeof Service;
export type ServiceCode = (typeof Service)[ServiceName];

export const SERVICE_NAMES: readonly ServiceName[] = ['UNRELIABLE', 'RELIABLE', 'FIFO', 'CAUSAL', 'AGREED', 'SAFE'];

const nameByCode = new Map<number, ServiceName>(SERVICE_NAMES.map((n) => [Service[n], n]));

/** The service name for a code, or undefined when the code is not exactly one service. */
export function serviceName(code: number): ServiceName | undefined {
  return nameByCode.get(code);
}

export function isServiceName(s: string): s is ServiceName {
  return (SERVICE_NAMES as readonly string[]).includes(s);
}
