// The daemon the contract tests run against: the fake by default, the real egressd when
// EGRESSD_SOCKET is set (see the README, "Running the tests against the real daemon").
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { FakeEgressd } from './fake-egressd.js';

export interface Daemon {
  readonly description: string;
  readonly socketPath: string;
  /**
   * Kills the daemon abruptly (kill -9 for the real one) and starts it again on the same socket,
   * resolving once it accepts connections; undefined when this harness cannot start it.
   */
  readonly restart: (() => Promise<void>) | undefined;
  stop(): Promise<void>;
}

/** The IPv4 /24 whose host addresses the tests give their containers. */
const TEST_SUBNET = process.env['EGRESSD_TEST_SUBNET'] ?? '10.213.0.0/24';

/** Host address `host` (1-254) of the test subnet. */
export function testAddress(host: number): string {
  const match = /^(\d+\.\d+\.\d+)\.0\/24$/.exec(TEST_SUBNET);
  if (!match) throw new Error(`EGRESSD_TEST_SUBNET must be an IPv4 /24 such as 10.213.0.0/24, got ${TEST_SUBNET}`);
  return `${match[1]}.${host}`;
}

export async function startDaemon(): Promise<Daemon> {
  const socketPath = process.env['EGRESSD_SOCKET'];
  if (socketPath === undefined) return startFake();
  const command = process.env['EGRESSD_COMMAND'];
  return command === undefined ? runningDaemon(socketPath) : startedDaemon(socketPath, command);
}

async function startFake(): Promise<Daemon> {
  const directory = await mkdtemp(path.join(tmpdir(), 'egressd-fake-'));
  const fake = await FakeEgressd.start(path.join(directory, 'egressd.sock'));
  return {
    description: 'the fake egressd',
    socketPath: fake.socketPath,
    restart: async () => {
      await fake.stop();
      await fake.listen();
    },
    stop: async () => {
      await fake.stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** A daemon someone else started: the tests use it and leave it running. */
async function runningDaemon(socketPath: string): Promise<Daemon> {
  await waitUntilAccepting(socketPath, undefined);
  return {
    description: `egressd at ${socketPath}`,
    socketPath,
    restart: undefined,
    stop: async () => {},
  };
}

/** A daemon this harness starts with `command` (run by sh, in the foreground) and stops. */
async function startedDaemon(socketPath: string, command: string): Promise<Daemon> {
  let daemon = await launch(command, socketPath);
  return {
    description: `egressd started by '${command}'`,
    socketPath,
    restart: async () => {
      await kill(daemon, 'SIGKILL');
      daemon = await launch(command, socketPath);
    },
    stop: () => kill(daemon, 'SIGTERM'),
  };
}

async function launch(command: string, socketPath: string): Promise<ChildProcess> {
  // Its own process group, so that killing it reaches the JVM under any wrapper script.
  const daemon = spawn('sh', ['-c', command], { detached: true, stdio: ['ignore', 'inherit', 'inherit'] });
  await waitUntilAccepting(socketPath, daemon);
  return daemon;
}

async function kill(daemon: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (daemon.exitCode !== null || daemon.signalCode !== null) return;
  const exited = new Promise((resolve) => daemon.once('exit', resolve));
  process.kill(-daemon.pid!, signal);
  await exited;
}

async function waitUntilAccepting(socketPath: string, daemon: ChildProcess | undefined): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (daemon && (daemon.exitCode !== null || daemon.signalCode !== null)) {
      throw new Error(`egressd exited (${daemon.exitCode ?? daemon.signalCode}) before it accepted connections`);
    }
    if (await accepts(socketPath)) return;
    if (Date.now() > deadline) throw new Error(`egressd did not accept connections at ${socketPath} within 60 s`);
    await sleep(100);
  }
}

function accepts(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ path: socketPath });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
