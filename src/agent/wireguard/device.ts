import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import type { Kernel } from '../kernel/netlink.js';
import { FlannelOperatorError, type ErrorCode } from '../../errors.js';
import { parseWgDump, type WgActual } from './diff.js';

const execFileP = promisify(execFile);

/**
 * The I/O edge of the WireGuard backend. Devices are kernel WireGuard links where the kernel has
 * them, else TUN devices served by wireguard-go; either way they are configured and read through
 * one interface, the `wg` tool (netlink for kernel devices, the UAPI socket in /run/wireguard for
 * wireguard-go), so the rest of the agent never knows which one runs.
 */

export type WgImplementation = 'kernel' | 'userspace';

export class WireguardError extends FlannelOperatorError {
  constructor(
    message: string,
    readonly code: ErrorCode = 'EAGENT_WIREGUARD',
  ) {
    super(message);
  }
}

export interface WireguardOptions {
  /** The `wg` binary (Debian wireguard-tools). */
  wg?: string;
  /** wireguard-go, started for a device when the kernel has no WireGuard. */
  wireguardGo?: string;
  /** Where the fallback to wireguard-go is reported (doctor, which only reads, has none). */
  logger?: Logger;
}

type DeviceKernel = Pick<
  Kernel,
  'linkState' | 'createWireguardLink' | 'deleteLink' | 'configureLink'
>;

export class WireguardDevices {
  /** Learned from the first creation attempt: the kernel path is tried first, once. */
  private implementation?: WgImplementation;

  constructor(
    private readonly kernel: DeviceKernel,
    private readonly opts: WireguardOptions,
  ) {}

  /** Which implementation serves the devices (undefined before the first one exists). */
  get inUse(): WgImplementation | undefined {
    return this.implementation;
  }

  /** `wg show <dev> dump`, parsed; undefined when `dev` is no WireGuard device. */
  async show(dev: string): Promise<WgActual | undefined> {
    try {
      const { stdout } = await execFileP(this.opts.wg ?? 'wg', ['show', dev, 'dump'], {
        timeout: 10_000,
      });
      return parseWgDump(stdout);
    } catch {
      return undefined;
    }
  }

  async set(args: string[]): Promise<void> {
    try {
      await execFileP(this.opts.wg ?? 'wg', args, { timeout: 10_000 });
    } catch (e) {
      // The arguments hold public keys and file paths only; stderr is wg's own message.
      const err = e as { stderr?: string; message: string };
      throw new WireguardError(
        `wg ${args.slice(0, 2).join(' ')}: ${err.stderr?.trim() || err.message}`,
      );
    }
  }

  /**
   * Makes sure `name` is a working WireGuard device: keeps a kernel link or a wireguard-go one
   * that answers, replaces anything else of that name. Returns whether it was created.
   */
  async ensure(name: string, mtu: number): Promise<boolean> {
    const link = await this.kernel.linkState(name);
    if (link?.kind === 'wireguard') {
      this.implementation = 'kernel';
      return false;
    }
    if (link && (await this.show(name))) {
      this.implementation = 'userspace';
      return false;
    }
    // Someone else's link of that name, or a TUN whose wireguard-go is gone.
    if (link) await this.kernel.deleteLink(name);
    await this.create(name, mtu);
    return true;
  }

  private async create(name: string, mtu: number): Promise<void> {
    if (this.implementation !== 'userspace') {
      try {
        await this.kernel.createWireguardLink(name, mtu);
        this.implementation = 'kernel';
        return;
      } catch (e) {
        this.opts.logger?.warn(
          { err: (e as Error).message, wireguardGo: this.opts.wireguardGo ?? 'wireguard-go' },
          'kernel has no WireGuard; using wireguard-go (userspace)',
        );
        this.implementation = 'userspace';
      }
    }
    await this.startUserspace(name);
  }

  /** wireguard-go daemonizes once the device and its UAPI socket exist: it outlives the agent. */
  private async startUserspace(name: string): Promise<void> {
    const bin = this.opts.wireguardGo ?? 'wireguard-go';
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(bin, [name], {
        stdio: 'ignore',
        env: { ...process.env, LOG_LEVEL: 'error' },
      });
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.on('error', (e) => {
        clearTimeout(t);
        reject(new WireguardError(`cannot run ${bin}: ${e.message}`, 'EAGENT_WIREGUARD_GO'));
      });
      child.on('exit', (c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
    if (code !== 0 || !(await this.show(name)))
      throw new WireguardError(
        `${bin} ${name} exited with ${code} and left no working device`,
        'EAGENT_WIREGUARD_GO',
      );
  }
}
