package dev.egress.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** {@code --backend pf|nft}. */
final class BackendConverter implements ITypeConverter<Backend> {
  @Override
  public Backend convert(String value) {
    try {
      return Backend.parse(value);
    } catch (IllegalArgumentException e) {
      throw new TypeConversionException(String.valueOf(e.getMessage()));
    }
  }
}
