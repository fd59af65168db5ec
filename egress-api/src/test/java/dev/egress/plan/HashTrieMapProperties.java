package dev.egress.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * {@link HashTrieMap} behaves as a {@link HashMap} fed the same puts and removes, and every earlier
 * version stays as it was (what lets a plan share its grants).
 */
class HashTrieMapProperties {
  /** A key whose hash is chosen: equal hashes collide in all 32 bits, near ones share prefixes. */
  record Key(int id, int hash) {
    @Override
    public int hashCode() {
      return hash;
    }

    @Override
    public boolean equals(Object other) {
      return other instanceof Key key && key.id == id;
    }
  }

  /** A put when {@code value} is not null, a remove otherwise. */
  record Step(Key key, Integer value, boolean remove) {}

  @Provide
  Arbitrary<List<Step>> steps() {
    // Ids fix hashes: few distinct hashes (collisions), and hashes that differ only in high bits.
    Arbitrary<Key> keys =
        Arbitraries.integers()
            .between(0, 60)
            .map(
                id ->
                    new Key(
                        id,
                        switch (id % 4) {
                          case 0 -> id % 5; // collides with other ids of the same rest
                          case 1 -> id << 27; // equal low bits: long shared paths
                          case 2 -> id * 0x9E3779B9;
                          default -> -id;
                        }));
    Arbitrary<Step> step =
        Combinators.combine(keys, Arbitraries.integers().between(0, 3), Arbitraries.of(true, false))
            .as((key, value, remove) -> new Step(key, value, remove));
    return step.list().ofMaxSize(200);
  }

  @Property
  void matchesAHashMap_andKeepsEveryVersion(@ForAll("steps") List<Step> steps) {
    HashTrieMap<Key, Integer> trie = HashTrieMap.empty();
    Map<Key, Integer> model = new HashMap<>();
    List<HashTrieMap<Key, Integer>> versions = new ArrayList<>();
    List<Map<Key, Integer>> expected = new ArrayList<>();
    for (Step step : steps) {
      if (step.remove()) {
        trie = trie.without(step.key());
        model.remove(step.key());
      } else {
        trie = trie.with(step.key(), step.value());
        model.put(step.key(), step.value());
      }
      versions.add(trie);
      expected.add(Map.copyOf(model));
      assertEquals(model.size(), trie.size());
      for (Key key : model.keySet()) {
        assertEquals(model.get(key), trie.get(key));
      }
    }
    for (int i = 0; i < versions.size(); i++) {
      HashTrieMap<Key, Integer> version = versions.get(i);
      assertEquals(expected.get(i), version, "version " + i);
      assertEquals(expected.get(i), new HashMap<>(version), "iterated, version " + i);
      Map<Key, Integer> visited = new HashMap<>();
      version.forEach(visited::put);
      assertEquals(expected.get(i), visited, "forEach, version " + i);
      for (int id = 0; id <= 60; id++) {
        Key absent = new Key(id + 100, id % 5);
        assertEquals(null, version.get(absent));
      }
    }
  }

  @Property
  void anUnchangingStep_returnsTheSameMap(@ForAll("steps") List<Step> steps) {
    HashTrieMap<Key, Integer> trie = HashTrieMap.empty();
    for (Step step : steps) {
      trie = trie.with(step.key(), step.value());
      assertSame(trie, trie.with(step.key(), step.value()));
      assertSame(trie, trie.without(new Key(-1, step.key().hash())));
    }
    assertSame(trie, HashTrieMap.copyOf(trie));
  }

  @Test
  void nullsAndMutators_areRefused() {
    HashTrieMap<Key, Integer> trie = HashTrieMap.<Key, Integer>empty().with(new Key(1, 1), 1);
    assertThrows(NullPointerException.class, () -> trie.with(new Key(2, 2), null));
    assertThrows(NullPointerException.class, () -> trie.with(null, 1));
    assertThrows(UnsupportedOperationException.class, () -> trie.put(new Key(3, 3), 3));
    assertThrows(UnsupportedOperationException.class, () -> trie.remove(new Key(1, 1)));
    assertEquals(null, trie.get(null));
  }
}
