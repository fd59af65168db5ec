package dev.egress.dns.filter;

/** How a query arrived, which bounds the size of its response. */
enum Transport {
  /** 512 bytes, or the client's EDNS payload size up to 1232; longer answers are cut, TC set. */
  UDP,
  /** Up to 65535 bytes. */
  TCP
}
