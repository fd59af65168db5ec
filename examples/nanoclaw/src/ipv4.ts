import net from 'node:net';

/** An IPv4 network such as `172.30.0.0/24`, whose host addresses are handed to containers. */
export class Ipv4Subnet {
  private constructor(
    private readonly base: number,
    private readonly prefix: number,
  ) {}

  /** @throws Error unless `cidr` is an IPv4 network of prefix 8 to 30 without host bits */
  static parse(cidr: string): Ipv4Subnet {
    const [address = '', prefixText = ''] = cidr.split('/');
    const prefix = Number(prefixText);
    if (!net.isIPv4(address) || !/^\d+$/.test(prefixText) || prefix < 8 || prefix > 30) {
      throw new Error(`${JSON.stringify(cidr)} is not an IPv4 network from /8 to /30`);
    }
    const base = toNumber(address);
    if (base % 2 ** (32 - prefix) !== 0) {
      throw new Error(`${cidr} has host bits set`);
    }
    return new Ipv4Subnet(base, prefix);
  }

  /** Host address number `index` (1 is the first host, conventionally the gateway). */
  host(index: number): string {
    if (!Number.isInteger(index) || index < 1 || index >= this.size() - 1) {
      throw new Error(`${this} has no host ${index}`);
    }
    return toText(this.base + index);
  }

  contains(address: string): boolean {
    return net.isIPv4(address) && Math.floor(toNumber(address) / this.size()) === this.base / this.size();
  }

  /**
   * The first host address after `previous` (or from the start), wrapping around, that is not
   * `taken`; undefined when every one is. Handing out addresses in turn rather than the lowest
   * free one keeps a just-released address unused for as long as possible.
   */
  nextFree(taken: ReadonlySet<string>, previous: string | undefined): string | undefined {
    const hosts = this.size() - 2;
    const start = previous !== undefined && this.contains(previous) ? toNumber(previous) - this.base : 0;
    for (let step = 1; step <= hosts; step++) {
      const candidate = toText(this.base + ((start + step - 1) % hosts) + 1);
      if (!taken.has(candidate)) return candidate;
    }
    return undefined;
  }

  toString(): string {
    return `${toText(this.base)}/${this.prefix}`;
  }

  private size(): number {
    return 2 ** (32 - this.prefix);
  }
}

function toNumber(address: string): number {
  return address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

function toText(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}
