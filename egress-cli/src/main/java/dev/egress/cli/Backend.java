package dev.egress.cli;

import java.util.Locale;

/** The packet filters egressctl knows, as {@code --backend} names them. */
enum Backend {
  PF,
  NFT;

  String optionName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * @throws IllegalArgumentException naming the choices
   */
  static Backend parse(String text) {
    for (Backend backend : values()) {
      if (backend.optionName().equals(text)) {
        return backend;
      }
    }
    throw new IllegalArgumentException("'" + text + "' is not a backend: pick pf or nft");
  }
}
