package dev.egress.plan;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * An immutable hash map whose {@link #with} and {@link #without} return a new map that shares all
 * but the path to the one key (a 32-way hash trie: O(log n) time and allocation), so that a plan's
 * grants change one address at a time instead of being copied whole for every grant. Null keys and
 * values are refused; the mutators of {@link Map} throw.
 */
final class HashTrieMap<K, V> extends AbstractMap<K, V> {
  private static final int BITS = 5;
  private static final int MASK = (1 << BITS) - 1;
  private static final HashTrieMap<?, ?> EMPTY = new HashTrieMap<>(new Branch(0, new Object[0]), 0);

  /** Slots hold a {@link Leaf}, a {@link Branch} or a {@link Collision}, in the order of bits. */
  private record Branch(int bitmap, Object[] slots) {}

  private record Leaf(int hash, Object key, Object value) {}

  /** Keys whose hashes are equal in all 32 bits. */
  private record Collision(int hash, Leaf[] leaves) {}

  private final Branch root;
  private final int size;

  private HashTrieMap(Branch root, int size) {
    this.root = root;
    this.size = size;
  }

  @SuppressWarnings("unchecked")
  static <K, V> HashTrieMap<K, V> empty() {
    return (HashTrieMap<K, V>) EMPTY;
  }

  /** {@code map} itself when it is one, otherwise its entries in a new one. */
  @SuppressWarnings("unchecked")
  static <K, V> HashTrieMap<K, V> copyOf(Map<? extends K, ? extends V> map) {
    if (map instanceof HashTrieMap) {
      return (HashTrieMap<K, V>) map;
    }
    HashTrieMap<K, V> copy = empty();
    for (Map.Entry<? extends K, ? extends V> entry : map.entrySet()) {
      copy = copy.with(entry.getKey(), entry.getValue());
    }
    return copy;
  }

  /** This map with {@code key} mapped to {@code value}; this one if it maps it so already. */
  HashTrieMap<K, V> with(K key, V value) {
    Objects.requireNonNull(value, "value");
    Leaf leaf = new Leaf(hash(key), key, value);
    int[] added = {0};
    Branch next = put(root, 0, leaf, added);
    return next == root ? this : new HashTrieMap<>(next, size + added[0]);
  }

  /** This map without {@code key}; this one if it does not hold it. */
  HashTrieMap<K, V> without(Object key) {
    Object next = remove(root, 0, hash(key), key);
    if (next == root) {
      return this;
    }
    if (next == null) {
      return empty();
    }
    // A branch left with one leaf hands it up; the root keeps it in a branch of its own.
    Branch branch =
        next instanceof Leaf leaf
            ? new Branch(bit(leaf.hash, 0), new Object[] {leaf})
            : (Branch) next;
    return new HashTrieMap<>(branch, size - 1);
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public boolean containsKey(@Nullable Object key) {
    return get(key) != null;
  }

  @Override
  @SuppressWarnings("unchecked")
  public @Nullable V get(@Nullable Object key) {
    if (key == null) {
      return null;
    }
    int hash = hash(key);
    Object slot = root;
    for (int shift = 0; ; shift += BITS) {
      if (slot instanceof Branch branch) {
        int bit = bit(hash, shift);
        if ((branch.bitmap & bit) == 0) {
          return null;
        }
        slot = branch.slots[index(branch.bitmap, bit)];
      } else if (slot instanceof Leaf leaf) {
        return leaf.hash == hash && leaf.key.equals(key) ? (V) leaf.value : null;
      } else {
        for (Leaf leaf : ((Collision) slot).leaves) {
          if (leaf.key.equals(key)) {
            return (V) leaf.value;
          }
        }
        return null;
      }
    }
  }

  @Override
  public Set<Map.Entry<K, V>> entrySet() {
    return new AbstractSet<>() {
      @Override
      public int size() {
        return size;
      }

      @Override
      public Iterator<Map.Entry<K, V>> iterator() {
        Iterator<Leaf> leaves = new Leaves(root);
        return new Iterator<>() {
          @Override
          public boolean hasNext() {
            return leaves.hasNext();
          }

          @Override
          @SuppressWarnings("unchecked")
          public Map.Entry<K, V> next() {
            Leaf leaf = leaves.next();
            return new SimpleImmutableEntry<>((K) leaf.key, (V) leaf.value);
          }
        };
      }
    };
  }

  private static int hash(Object key) {
    int hash = key.hashCode();
    return hash ^ (hash >>> 16);
  }

  private static int bit(int hash, int shift) {
    return 1 << ((hash >>> shift) & MASK);
  }

  private static int index(int bitmap, int bit) {
    return Integer.bitCount(bitmap & (bit - 1));
  }

  /** {@code branch} with {@code leaf} in it; counts a new key in {@code added}. */
  private static Branch put(Branch branch, int shift, Leaf leaf, int[] added) {
    int bit = bit(leaf.hash, shift);
    int at = index(branch.bitmap, bit);
    if ((branch.bitmap & bit) == 0) {
      added[0] = 1;
      Object[] slots = new Object[branch.slots.length + 1];
      System.arraycopy(branch.slots, 0, slots, 0, at);
      slots[at] = leaf;
      System.arraycopy(branch.slots, at, slots, at + 1, branch.slots.length - at);
      return new Branch(branch.bitmap | bit, slots);
    }
    Object slot = branch.slots[at];
    Object next;
    if (slot instanceof Branch child) {
      next = put(child, shift + BITS, leaf, added);
    } else if (slot instanceof Leaf held) {
      if (held.hash == leaf.hash && held.key.equals(leaf.key)) {
        next = held.value.equals(leaf.value) ? held : leaf;
      } else {
        added[0] = 1;
        next = merge(held, leaf, shift + BITS);
      }
    } else {
      next = put((Collision) slot, leaf, added);
    }
    return next == slot ? branch : replaced(branch, at, next);
  }

  private static Collision put(Collision collision, Leaf leaf, int[] added) {
    Leaf[] leaves = collision.leaves;
    for (int i = 0; i < leaves.length; i++) {
      if (leaves[i].key.equals(leaf.key)) {
        if (leaves[i].value.equals(leaf.value)) {
          return collision;
        }
        Leaf[] replaced = leaves.clone();
        replaced[i] = leaf;
        return new Collision(collision.hash, replaced);
      }
    }
    added[0] = 1;
    Leaf[] grown = Arrays.copyOf(leaves, leaves.length + 1);
    grown[leaves.length] = leaf;
    return new Collision(collision.hash, grown);
  }

  /** The subtrie at {@code shift} that holds two leaves of different keys. */
  private static Object merge(Leaf a, Leaf b, int shift) {
    if (shift >= Integer.SIZE) {
      return new Collision(a.hash, new Leaf[] {a, b});
    }
    int bitA = bit(a.hash, shift);
    int bitB = bit(b.hash, shift);
    if (bitA == bitB) {
      return new Branch(bitA, new Object[] {merge(a, b, shift + BITS)});
    }
    // Unsigned: slot 31's bit is the sign bit.
    return new Branch(
        bitA | bitB,
        Integer.compareUnsigned(bitA, bitB) < 0 ? new Object[] {a, b} : new Object[] {b, a});
  }

  /**
   * {@code branch} without {@code key}: itself when it does not hold it, null when nothing is left,
   * the one leaf left when only that is.
   */
  private static @Nullable Object remove(Branch branch, int shift, int hash, Object key) {
    int bit = bit(hash, shift);
    if ((branch.bitmap & bit) == 0) {
      return branch;
    }
    int at = index(branch.bitmap, bit);
    Object slot = branch.slots[at];
    Object next;
    if (slot instanceof Branch child) {
      next = remove(child, shift + BITS, hash, key);
    } else if (slot instanceof Leaf leaf) {
      next = leaf.hash == hash && leaf.key.equals(key) ? null : leaf;
    } else {
      next = remove((Collision) slot, key);
    }
    if (next == slot) {
      return branch;
    }
    if (next == null) {
      if (branch.slots.length == 1) {
        return null;
      }
      Object[] slots = new Object[branch.slots.length - 1];
      System.arraycopy(branch.slots, 0, slots, 0, at);
      System.arraycopy(branch.slots, at + 1, slots, at, slots.length - at);
      return slots.length == 1 && slots[0] instanceof Leaf only
          ? only
          : new Branch(branch.bitmap & ~bit, slots);
    }
    return branch.slots.length == 1 && next instanceof Leaf ? next : replaced(branch, at, next);
  }

  private static Object remove(Collision collision, Object key) {
    Leaf[] leaves = collision.leaves;
    for (int i = 0; i < leaves.length; i++) {
      if (leaves[i].key.equals(key)) {
        if (leaves.length == 2) {
          return leaves[1 - i];
        }
        Leaf[] shrunk = new Leaf[leaves.length - 1];
        System.arraycopy(leaves, 0, shrunk, 0, i);
        System.arraycopy(leaves, i + 1, shrunk, i, shrunk.length - i);
        return new Collision(collision.hash, shrunk);
      }
    }
    return collision;
  }

  private static Branch replaced(Branch branch, int at, Object slot) {
    Object[] slots = branch.slots.clone();
    slots[at] = slot;
    return new Branch(branch.bitmap, slots);
  }

  /** The leaves under a branch, depth first. */
  private static final class Leaves implements Iterator<Leaf> {
    private final ArrayDeque<Object> pending = new ArrayDeque<>();

    Leaves(Branch root) {
      pending.push(root);
    }

    @Override
    public boolean hasNext() {
      while (!pending.isEmpty() && !(pending.peek() instanceof Leaf)) {
        Object slot = pending.pop();
        Object[] children =
            slot instanceof Branch branch ? branch.slots : ((Collision) slot).leaves;
        for (int i = children.length - 1; i >= 0; i--) {
          pending.push(children[i]);
        }
      }
      return !pending.isEmpty();
    }

    @Override
    public Leaf next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      return (Leaf) pending.pop();
    }
  }
}
