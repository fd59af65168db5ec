package dev.egress.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * {@link HashTrieMap} behaves as a {@link HashMap} fed the same puts and removes, whatever the
 * keys' hashes, and every earlier version stays as it was (what lets a plan share its grants).
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

  /**
   * The keys of one try, {@code keys.get(id)} has id {@code id}, and its puts and removes: a step
   * names a key by id.
   */
  record Scenario(List<Key> keys, List<Step> steps) {}

  /** A put of {@code value} unless {@code remove}. */
  record Step(int id, Integer value, boolean remove) {}

  @Provide
  Arbitrary<Scenario> scenarios() {
    // A few base hashes per try, any int or one at the edges of the sign and of the 5-bit slots;
    // each key's hash is a base (an exact collision) or a base with one bit flipped (a shared
    // prefix as long as the lower bits).
    Arbitrary<Integer> base =
        Arbitraries.oneOf(
            Arbitraries.integers(),
            Arbitraries.of(-1, 0, 1, 31, 31 << 5, Integer.MIN_VALUE, Integer.MAX_VALUE));
    Arbitrary<List<Integer>> hashes =
        base.list()
            .ofMinSize(1)
            .ofMaxSize(4)
            .flatMap(
                bases ->
                    Combinators.combine(
                            Arbitraries.of(bases),
                            Arbitraries.integers().between(-1, 31),
                            Arbitraries.integers())
                        .as(
                            (from, flipped, any) ->
                                flipped < 0 ? from : flipped < 28 ? from ^ (1 << flipped) : any)
                        .list()
                        .ofMinSize(1)
                        .ofMaxSize(40));
    return hashes.flatMap(
        keyHashes -> {
          List<Key> keys = new ArrayList<>();
          for (int id = 0; id < keyHashes.size(); id++) {
            keys.add(new Key(id, keyHashes.get(id)));
          }
          Arbitrary<Step> step =
              Combinators.combine(
                      Arbitraries.integers().between(0, keys.size() - 1),
                      Arbitraries.integers().between(0, 3),
                      Arbitraries.of(true, false, false))
                  .as(Step::new);
          return step.list().ofMaxSize(120).map(steps -> new Scenario(keys, steps));
        });
  }

  @Property
  void matchesAHashMap_andKeepsEveryVersion(@ForAll("scenarios") Scenario scenario) {
    HashTrieMap<Key, Integer> trie = HashTrieMap.empty();
    Map<Key, Integer> model = new HashMap<>();
    List<HashTrieMap<Key, Integer>> versions = new ArrayList<>();
    List<Map<Key, Integer>> expected = new ArrayList<>();
    for (Step step : scenario.steps()) {
      Key key = scenario.keys().get(step.id());
      if (step.remove()) {
        trie = trie.without(key);
        model.remove(key);
      } else {
        trie = trie.with(key, step.value());
        model.put(key, step.value());
      }
      versions.add(trie);
      expected.add(Map.copyOf(model));
      assertMatches(model, trie, scenario.keys(), "after " + step);
    }
    for (int i = 0; i < versions.size(); i++) {
      assertMatches(expected.get(i), versions.get(i), scenario.keys(), "version " + i);
    }
  }

  /** Looks up every key, held or not, and compares both ways. */
  private static void assertMatches(
      Map<Key, Integer> model, HashTrieMap<Key, Integer> trie, List<Key> keys, String when) {
    assertEquals(model.size(), trie.size(), when);
    for (Key key : keys) {
      assertEquals(model.get(key), trie.get(key), when + ", get " + key);
      assertEquals(model.containsKey(key), trie.containsKey(key), when + ", contains " + key);
      // Another id with the same hash: a collision the map must tell apart.
      assertNull(trie.get(new Key(-1 - key.id(), key.hash())), when);
    }
    assertTrue(trie.equals(model), when + ", trie equals model");
    assertTrue(model.equals(trie), when + ", model equals trie");
    assertEquals(model.hashCode(), trie.hashCode(), when + ", hashCode");
    assertEquals(model, new HashMap<>(trie), when + ", iterated");
  }

  @Property
  void anUnchangingStep_returnsTheSameMap(@ForAll("scenarios") Scenario scenario) {
    HashTrieMap<Key, Integer> trie = HashTrieMap.empty();
    for (Step step : scenario.steps()) {
      Key key = scenario.keys().get(step.id());
      trie = trie.with(key, step.value());
      assertSame(trie, trie.with(key, step.value()));
      assertSame(trie, trie.without(new Key(-1 - key.id(), key.hash())));
    }
    assertSame(trie, HashTrieMap.copyOf(trie));
  }

  /**
   * Two keys that part at the second level, one in slot 0 and one in slot 31, whose bit is the sign
   * bit of the branch's bitmap: the branch must keep them in slot order.
   */
  @Test
  void keysInTheFirstAndLastSlotOfABranch_areBothFound() {
    Key first = new Key(1, 0);
    Key last = new Key(2, 31 << 5); // slot 0 at the first level, slot 31 at the second
    for (List<Key> order : List.of(List.of(first, last), List.of(last, first))) {
      HashTrieMap<Key, Integer> trie = HashTrieMap.empty();
      for (Key key : order) {
        trie = trie.with(key, key.id());
      }
      assertEquals(1, trie.get(first), "put " + order);
      assertEquals(2, trie.get(last), "put " + order);
      assertEquals(Map.of(last, 2), trie.without(first), "put " + order);
      assertEquals(Map.of(first, 1), trie.without(last), "put " + order);
    }
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
