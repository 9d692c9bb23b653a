// strftime(3) for EventTimeStamp = "format": the conversions Spread's users write in practice,
// in local time as Spread formats them (C locale names). Unknown conversions are kept as
// written, so a typo shows in the log instead of vanishing.

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const pad = (n: number, width = 2, fill = '0'): string => String(n).padStart(width, fill);

function dayOfYear(d: Date): number {
  return Math.round((new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime() - new Date(d.getFullYear(), 0, 1).getTime()) / 86_400_000) + 1;
}

/** The UTC offset as strftime's %z writes it, e.g. +0200. */
function utcOffset(d: Date): string {
  const minutes = -d.getTimezoneOffset();
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
}

const CONVERSIONS: Readonly<Record<string, (d: Date) => string>> = {
  a: (d) => DAYS[d.getDay()]!.slice(0, 3),
  A: (d) => DAYS[d.getDay()]!,
  b: (d) => MONTHS[d.getMonth()]!.slice(0, 3),
  h: (d) => MONTHS[d.getMonth()]!.slice(0, 3),
  B: (d) => MONTHS[d.getMonth()]!,
  d: (d) => pad(d.getDate()),
  e: (d) => pad(d.getDate(), 2, ' '),
  H: (d) => pad(d.getHours()),
  I: (d) => pad(d.getHours() % 12 === 0 ? 12 : d.getHours() % 12),
  j: (d) => pad(dayOfYear(d), 3),
  m: (d) => pad(d.getMonth() + 1),
  M: (d) => pad(d.getMinutes()),
  p: (d) => (d.getHours() < 12 ? 'AM' : 'PM'),
  S: (d) => pad(d.getSeconds()),
  s: (d) => String(Math.floor(d.getTime() / 1000)),
  y: (d) => pad(d.getFullYear() % 100),
  Y: (d) => String(d.getFullYear()),
  z: utcOffset,
  F: (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`,
  T: (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`,
  D: (d) => `${pad(d.getMonth() + 1)}/${pad(d.getDate())}/${pad(d.getFullYear() % 100)}`,
  '%': () => '%',
};

/** `format` with its %-conversions filled in from `date` (local time). */
export function strftime(format: string, date: Date): string {
  return format.replace(/%(.)/g, (all, c: string) => CONVERSIONS[c]?.(date) ?? all);
}
