// The daemon's optional HTTP endpoint (spread.conf `MetricsAddress`): GET /metrics gives the
// Prometheus text of DaemonMetrics, GET /health 200 with a JSON body while the daemon orders
// messages in a ring, 503 (same body) before its first ring, while it forms a new one, and once
// it is shutting down. Nothing else is served.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { familyOf, isLoopback } from '../config/addresses';
import type { HostEntry, ListenAddress } from '../config/types';
import { RingcastError } from '../errors';
import type { StatusReport } from '../wire/status';
import type { Daemon } from './daemon';
import type { DaemonMetrics, MetricsSource } from './metrics'; // types only: prom-client loads with the metrics

/**
 * Where to listen. A port alone means loopback: the daemon's own address when that is a 127.x
 * (or ::1) one, so several daemons of one file on one machine keep apart, else 127.0.0.1 (::1
 * for an IPv6 daemon).
 */
export function metricsListenAddress(option: ListenAddress, host: Pick<HostEntry, 'address'>): { address: string; port: number } {
  if (option.address !== undefined) return { address: option.address, port: option.port };
  const address = isLoopback(host.address) ? host.address : familyOf(host.address) === 'IPv6' ? '::1' : '127.0.0.1';
  return { address, port: option.port };
}

/** A Daemon (and the status its session server reports) as what the metrics read. */
export function daemonMetricsSource(daemon: Daemon, status: () => StatusReport): MetricsSource {
  return {
    selfId: daemon.host.id,
    configuredDaemons: daemon.config.hosts.length,
    status,
    ringTotals: () => daemon.membership.ringTotals,
    onDeliver(listener) {
      daemon.on('deliver', listener);
      return () => daemon.off('deliver', listener);
    },
  };
}

export class MetricsServer {
  private stopping = false;

  private constructor(
    private readonly metrics: DaemonMetrics,
    private readonly server: http.Server,
    /** http://address:port of the endpoint (the port chosen when 0 was asked). */
    readonly url: string,
  ) {}

  /**
   * Serves `metrics` on address:port (port 0: any free one, see `url`).
   * @throws RingcastError METRICS_LISTEN when the address cannot be bound.
   */
  static async start(metrics: DaemonMetrics, listen: { address: string; port: number }): Promise<MetricsServer> {
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) =>
        reject(new RingcastError('METRICS_LISTEN', `cannot serve metrics on ${listen.address}:${listen.port}: ${e.message}`, { cause: e })),
      );
      server.listen(listen.port, listen.address, () => resolve());
    });
    const a = server.address() as AddressInfo;
    const self = new MetricsServer(metrics, server, `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
    server.on('request', (req, res) => self.handle(req, res)); // no request can come in before this turn ends
    return self;
  }

  /** Answers 503 from now on, stops listening and drops open connections. */
  async close(): Promise<void> {
    this.stopping = true;
    this.metrics.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'text/plain', 'only GET\n');
    if (path === '/metrics') {
      this.metrics.text().then(
        (text) => reply(res, 200, this.metrics.contentType, text),
        (e: Error) => reply(res, 500, 'text/plain', `metrics failed: ${e.message}\n`), // a scrape must never hurt the daemon
      );
    } else if (path === '/health') {
      const h = this.metrics.health();
      const ok = h.ok && !this.stopping;
      reply(res, ok ? 200 : 503, 'application/json', JSON.stringify({ ...h.body, ...(this.stopping ? { status: 'stopping' } : {}) }) + '\n');
    } else {
      reply(res, 404, 'text/plain', 'not found: try /metrics or /health\n');
    }
  }
}

function reply(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
