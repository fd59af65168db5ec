package dev.egress.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.InputFormat;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Objects;

/** The published schema, checked by a JSON Schema validator with format assertions on. */
final class Schema {
  private static final com.networknt.schema.Schema SCHEMA = load();

  private Schema() {}

  /** Fails unless {@code line} is a valid record. */
  static void assertValid(String line) {
    List<com.networknt.schema.Error> errors = errors(line);
    assertEquals(List.of(), errors, line);
  }

  static List<com.networknt.schema.Error> errors(String line) {
    return SCHEMA.validate(
        line,
        InputFormat.JSON,
        (context, schemaContext) -> context.executionConfig(c -> c.formatAssertionsEnabled(true)));
  }

  private static com.networknt.schema.Schema load() {
    try (InputStream in =
        Objects.requireNonNull(
            AuditJson.class.getResourceAsStream(AuditJson.SCHEMA_RESOURCE), "schema")) {
      return SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
          .getSchema(new ObjectMapper().readTree(in).toString(), InputFormat.JSON);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }
}
