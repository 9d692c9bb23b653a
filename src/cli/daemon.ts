// `ringcast daemon -c FILE [-n NAME]`: one daemon of the ring.
import type { Command } from 'commander';
import { findLocalHost, loadConfig } from '../config';
import { authKeyPath } from '../config/authKey';
import { isServiceName, serviceName } from '../core/service';
import { UsageError } from '../errors';
import { Daemon } from '../daemon/daemon';
import { SUPPORTED_AUTH_METHODS, SessionServer } from '../session';
import { publishDaemonEvent, standardEngines } from '../services';
import { TrafficGenerator } from '../daemon/trafficGenerator';
import { daemonStatusProvider } from '../daemon/statusProvider';
import { DaemonLog, logOptionsFromConfig } from '../daemon/log';
import { MetricsServer, daemonMetricsSource, metricsListenAddress } from '../daemon/metricsServer';
import type { LogEntry } from '../sim/deliveryLog';
import { LogWriter } from '../sim/logFiles';
import { numberOption } from './options';

interface DaemonFlags {
  config: string;
  name?: string;
  log?: string;
  generate?: number;
  size: number;
  service: string;
  groups: string;
  expect?: number;
  inFlight: number;
  incarnation?: number;
  socket?: string;
}

export function registerDaemon(program: Command): void {
  program
    .command('daemon')
    .description('run one daemon of the ring from a spread.conf')
    .requiredOption('-c, --config <file>', 'spread.conf to read')
    .option('-n, --name <name>', 'which host entry this daemon is (default: the one whose address is local)')
    .option('--log <file>', 'write this daemon\'s delivery log (JSON lines) to file')
    .option('--generate <n>', 'test traffic: send n messages from this daemon itself', numberOption('--generate', true))
    .option('--size <bytes>', 'test traffic: message size', numberOption('--size', true), 1000)
    .option('--service <name>', 'test traffic: service type', 'AGREED')
    .option('--groups <list>', 'test traffic: comma-separated groups', 'test')
    .option('--expect <n>', 'test traffic: report when this many messages (all senders) are delivered', numberOption('--expect', true))
    .option('--in-flight <n>', 'test traffic: own undelivered messages at most', numberOption('--in-flight', true), 2000)
    .option('--socket <path>', 'Unix socket for clients (default <ClientSocketDir>/<port>, or <port>-<name> when daemons of the file share the port); "none" for no socket')
    .option('--incarnation <n>', 'this life of the daemon (default: from the clock); logs name lives other than 1 "name@n"', numberOption('--incarnation', true))
    .action(async (flags: DaemonFlags) => {
      const config = loadConfig(flags.config);
      const host = findLocalHost(config, flags.name);
      if (!isServiceName(flags.service)) throw new UsageError(`--service must be a service type name, not "${flags.service}"`);
      const daemon = new Daemon(config, host, flags.incarnation !== undefined ? { incarnation: flags.incarnation } : {});
      const log = new DaemonLog(host.name, logOptionsFromConfig(config.options));
      const say = (line: string) => log.info(line);

      // Synchronous, buffered log: a 'sent' line reaches the kernel before the message can leave
      // this process, so a kill -9 never leaves a message delivered elsewhere but not sent here.
      let logWriter: LogWriter | undefined;
      if (flags.log) {
        const w = (logWriter = new LogWriter(flags.log));
        const write = (e: LogEntry) => w.write(e);
        setInterval(() => w.flush(), 100).unref(); // keep the file current for readers
        daemon.on('configuration', (c) => write({ t: 'conf', kind: c.kind, ring: c.ring, members: c.members }));
        const me = daemon.memberName(host.id, daemon.incarnation);
        daemon.on('submitted', (n, svc) => {
          write({ t: 'sent', id: `${me}#${n}`, svc: serviceName(svc) ?? 'AGREED' });
          w.flush();
        });
        daemon.on('deliver', (m) => {
          if (m.counter === 0) return; // the client layer's traffic: the clients' own logs check it
          write({
            t: 'msg',
            id: `${daemon.memberName(m.origin, m.originIncarnation)}#${m.counter}`,
            svc: serviceName(m.service) ?? 'AGREED',
            groups: m.groups,
            len: m.payload.length,
          });
        });
      }
      daemon.on('configuration', (c) => say(`${c.kind} configuration ${c.ring}: ${c.members.join(' ')}`));
      daemon.on('link', (e) => log.log(e.kind === 'down' ? 'WARNING' : 'INFO', `link ${e.link} (${host.daemonAddrs[e.link]}) to ${e.peerName} ${e.kind}: ${e.reason}`));

      // Clients: every daemon of a ring runs the groups layer from its first configuration on.
      // Service engines (checkpoints, events) run in every daemon, fed by the same ring.
      let server: SessionServer | undefined;
      server = await SessionServer.attach(
        daemon,
        flags.socket === undefined ? {} : { unixSocketPath: flags.socket === 'none' ? null : flags.socket },
        {
          log: (line) => log.warning(line),
          sessionRejected: (r, remote) => {
            log.warning(`session ${r.privateGroup ?? remote} ${r.kind === 'quota' || r.kind === 'handshake' ? 'rejected' : 'closed'}: ${r.kind}: ${r.detail}`);
            publishDaemonEvent(server?.services ?? null, r.kind === 'quota' || r.kind === 'handshake' ? 'SESSION_REJECTED' : 'SESSION_KICKED', {
              daemon: host.name,
              client: r.privateGroup ?? remote,
              reason: `${r.kind}: ${r.detail}`,
              ...(r.code !== undefined ? { code: r.code } : {}),
            });
          },
        },
        standardEngines(),
      );
      daemon.on('link', (e) =>
        publishDaemonEvent(server?.services ?? null, e.kind === 'down' ? 'LINK_DOWN' : 'LINK_UP', {
          daemon: host.name,
          peer: e.peerName,
          link: e.link,
          address: host.daemonAddrs[e.link],
          ...(e.kind === 'down' ? { reason: e.reason } : {}),
        }),
      );
      server.setStatusProvider(daemonStatusProvider(daemon, { version: program.version() }));
      // Metrics count deliveries from the first one on: up before the daemon starts.
      let metrics: MetricsServer | null = null;
      const metricsOption = config.options.metricsAddress;
      if (metricsOption) {
        // prom-client takes ~50 ms of CPU to load: only a daemon that serves metrics loads it.
        const { DaemonMetrics } = await import('../daemon/metrics');
        metrics = await MetricsServer.start(
          new DaemonMetrics(daemonMetricsSource(daemon, () => server.statusReport('metrics'))),
          metricsListenAddress(metricsOption, host),
        ).catch(async (e: unknown) => {
          await server.close();
          throw e;
        });
      }
      await daemon.start();
      say(`clients: ${server.addresses().join(', ')}`);
      if (metrics) say(`metrics: ${metrics.url}/metrics, health: ${metrics.url}/health`);
      say(`listening on ${host.daemonAddrs.map((a) => `${a}:${host.port}`).join(', ')} (udp${host.daemonAddrs.length > 1 ? `, multipath ${config.multipath}` : ''}), ${config.hosts.length} daemons configured, config hash ${config.configHash.toString(16)}, incarnation ${daemon.incarnation}`);
      if (daemon.auth) say(`daemon traffic ${daemon.auth.encrypt ? 'authenticated and encrypted' : 'authenticated'} (AES-256-GCM) with the key in ${authKeyPath(config)}`);
      else log.warning('daemon traffic is unauthenticated: anyone who can reach the daemon port can join or disturb the ring (set AuthKeyFile; ringcast keygen makes a key)');
      const unknownMethods = [...new Set([...config.options.allowedAuthMethods, ...config.options.requiredAuthMethods])].filter((m) => !SUPPORTED_AUTH_METHODS.includes(m));
      if (unknownMethods.length > 0) {
        const required = unknownMethods.filter((m) => config.options.requiredAuthMethods.includes(m));
        log.warning(`auth method(s) ${unknownMethods.join(', ')} not supported by ringcast (it runs ${SUPPORTED_AUTH_METHODS.join(', ')}): not offered to clients${required.length > 0 ? `; required, so every client is refused` : ''}`);
      }

      if (flags.generate !== undefined) {
        let cpuAtStart: NodeJS.CpuUsage | undefined;
        const cpuMs = () => {
          const c = process.cpuUsage(cpuAtStart);
          return (c.user + c.system) / 1000;
        };
        const gen = new TrafficGenerator(
          daemon,
          {
            count: flags.generate,
            size: flags.size,
            service: flags.service,
            groups: flags.groups.split(',').filter(Boolean),
            expect: flags.expect ?? flags.generate,
            inFlight: flags.inFlight,
          },
          // cpuMs: this process's CPU time since the traffic started (what the run cost, start-up aside).
          (report) => process.stdout.write(JSON.stringify({ ...report, cpuMs: cpuMs(), counters: daemon.membership.ringCore?.counters, auth: daemon.authCounters() ?? undefined }) + '\n'),
        );
        // Test traffic starts once every configured daemon is in the ring, so all see all of it.
        let started = false;
        const startWhenComplete = (c: { kind: string; members: string[] }) => {
          if (!started && c.kind === 'regular' && c.members.length === config.hosts.length) {
            started = true;
            cpuAtStart = process.cpuUsage();
            gen.start();
          }
        };
        if (daemon.configuration) startWhenComplete(daemon.configuration);
        daemon.on('configuration', startWhenComplete);
      }

      await new Promise<void>((resolve) => {
        const shutdown = () => {
          say('shutting down');
          void (metrics?.close() ?? Promise.resolve())
            .then(() => server.close())
            .catch(() => undefined)
            .then(() => daemon.stop())
            .then(() => {
              logWriter?.close();
              log.close();
              resolve();
            });
        };
        process.once('SIGTERM', shutdown);
        process.once('SIGINT', shutdown);
      });
    });
}
