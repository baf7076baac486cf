/*
 * The map's text kernel (src/text/text-kernel.ts), compiled to WebAssembly by
 * scripts/build-wasm.mjs. `scan` is `scanDocument` (src/text/document-scan.ts) followed by
 * `shingleSet` (src/dedup/shingles.ts), over the UTF-8 bytes of a text instead of its UTF-16
 * units, with no JS string or array made per word: that TypeScript stays the oracle, and
 * test/text/text-kernel.test.ts compares the two on every BMP unit and on seeded texts.
 *
 * Per document `scan` gives, in the kernel's memory:
 *   - the UTF-8 of normalizeForExactDedup(text) (exact dedup's key text),
 *   - the MurmurHash3 of each lower-cased letter/number run (the shingle words),
 *   - countWords(text) (the `words` token count),
 *   - the sorted, duplicate-free shingle hashes of those words (verification and OPH's input).
 * `scanKey` gives the first and third only (curate's map), `stats` the counts behind
 * src/filters/heuristics.ts `textStats` for the same text, and `oph` one-permutation MinHash
 * sketches of a batch of shingle sets (src/cpu/oph.ts `ophCpu` is its oracle).
 *
 * Characters are classified by a table the host fills from `classify` (document-scan.ts), one
 * int32 per BMP unit, with the same packing, and astral code points by a small hash table. A
 * character not classified yet stops the scan, which names it; the host classifies it and calls
 * again. A character classified as not plain sends the document to the TypeScript path (the
 * host marks U+FFFD not plain, since TextEncoder writes it for an unpaired surrogate).
 *
 * No libc: freestanding, memory grown by hand.
 */
typedef unsigned int u32;
typedef int i32;
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned long size_t;
#include <wasm_simd128.h>

#define KNOWN (1u << 31)
#define PLAIN (1u << 30)
#define WHITE (1u << 29)
#define WORD_CLASS_SHIFT 24
#define SPACE 2u
#define LOWER_MASK 0xffffu
#define TOKEN_HASH_SEED 0x746f6b6du

/* Results of `scan`. */
#define DONE 0
#define FALLBACK 1
#define UNCLASSIFIED 2

static u32 table[0x10000];

/* Astral code points met so far: open addressing, (code point, entry) pairs, 0 = free. */
#define ASTRAL_SLOTS 16384
#define ASTRAL_WORD (1u << 28)
static u32 astral[2 * ASTRAL_SLOTS];
static u32 astral_count;

static inline u32 *astral_slot(u32 code_point) {
  u32 at = (code_point * 0x9e3779b1u) >> 18; /* 14 bits */
  while (astral[2 * at] != 0 && astral[2 * at] != code_point) at = (at + 1) & (ASTRAL_SLOTS - 1);
  return &astral[2 * at];
}

/* Records the host's entry for an astral code point; 0 when the table is full. */
__attribute__((export_name("classifyAstral"))) u32 classify_astral(u32 code_point, u32 entry) {
  if (astral_count >= ASTRAL_SLOTS / 2) return 0;
  u32 *slot = astral_slot(code_point);
  if (slot[0] == 0) astral_count++;
  slot[0] = code_point;
  slot[1] = entry;
  return 1;
}

/* Buffers in linear memory past the static data, grown on demand (see reserve). */
static u8 *input;
static u8 *exact;
static u32 *words;
static u32 *shingles;
static u32 *sorted;
static u32 input_capacity; /* bytes the input holds */
static u32 capacity; /* text bytes the other buffers are sized for */
#define SLACK 32

/* The last scan's results, read by the host through `results`: see text-kernel.ts. */
static u32 out[8];

extern unsigned char __heap_base;

static inline u32 rotl(u32 x, u32 r) { return (x << r) | (x >> (32 - r)); }

/* Four bytes, little-endian, at any alignment. */
static inline u32 load32(const u8 *p) { return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24; }

static inline u32 fmix32(u32 h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

static inline u32 round32(u32 h, u32 k) {
  k *= 0xcc9e2d51u;
  k = rotl(k, 15);
  k *= 0x1b873593u;
  h ^= k;
  h = rotl(h, 13);
  return h * 5 + 0xe6546b64u;
}

static inline u32 tail32(u32 h, u32 k) {
  k *= 0xcc9e2d51u;
  k = rotl(k, 15);
  k *= 0x1b873593u;
  return h ^ k;
}

__attribute__((export_name("table"))) u32 *table_address(void) { return table; }
__attribute__((export_name("results"))) u32 *results_address(void) { return out; }

/*
 * A new block of `bytes` at the top of memory (grown as needed), or 0 when it cannot grow.
 * Blocks are never freed: each caller replaces its block by one at least twice as large, so
 * what is left behind is less than what is in use.
 */
static u8 *top;
static u8 *grow_block(size_t bytes) {
  if (top == 0) top = (u8 *)(((size_t)&__heap_base + 15) & ~(size_t)15);
  size_t at = ((size_t)top + 15) & ~(size_t)15;
  size_t have = __builtin_wasm_memory_size(0) * 65536;
  if (at + bytes > have) {
    size_t pages = (at + bytes - have + 65535) / 65536;
    if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return 0;
  }
  top = (u8 *)(at + bytes);
  return (u8 *)at;
}

/*
 * Makes room to write a text of at most `bytes` UTF-8 bytes (what TextEncoder.encodeInto may
 * need: 3 per UTF-16 unit) and returns where, or 0 when the memory cannot grow.
 */
__attribute__((export_name("reserve"))) u8 *reserve(u32 bytes) {
  if (bytes <= input_capacity && input != 0) return input;
  u32 cap = input_capacity < 4096 ? 4096 : 2 * input_capacity;
  while (cap < bytes) cap *= 2;
  /* SLACK bytes past the input: 16-byte loads may pass its end. */
  u8 *base = grow_block((size_t)cap + SLACK);
  if (base == 0) return 0;
  input = base;
  input_capacity = cap;
  return input;
}

/*
 * Makes room to scan a text of `bytes` UTF-8 bytes (once it is written, so sized by what it
 * takes, not by the bound): the exact text (never longer), a word hash per two bytes (a word
 * ends only at a separator, so at most bytes/2 + 1), and the shingles with the sort's scratch
 * (at most one per word). Returns 0 when the memory cannot grow, else 1.
 */
__attribute__((export_name("prepare"))) u32 prepare(u32 bytes) {
  if (bytes <= capacity && exact != 0) return 1;
  u32 cap = capacity < 4096 ? 4096 : 2 * capacity;
  while (cap < bytes) cap *= 2;
  size_t words_cap = (size_t)cap / 2 + 2;
  /* SLACK bytes past the exact text: 16-byte stores may pass its end. */
  u8 *base = grow_block((size_t)cap + SLACK + 3 * 4 * words_cap + 64);
  if (base == 0) return 0;
  exact = base;
  words = (u32 *)(((size_t)(exact + cap + SLACK) + 3) & ~(size_t)3);
  shingles = words + words_cap;
  sorted = shingles + words_cap;
  capacity = cap;
  return 1;
}

/*
 * Sorts n hashes ascending: insertion sort when short, else an LSD radix sort of four 8-bit
 * digits between `values` and `sorted` (four passes end back in `values`). Linear whatever
 * the hashes are.
 */
static u32 *sort_hashes(u32 *values, u32 n) {
  if (n < 48) {
    for (u32 i = 1; i < n; i++) {
      u32 x = values[i];
      i32 j = (i32)i - 1;
      while (j >= 0 && values[j] > x) {
        values[j + 1] = values[j];
        j--;
      }
      values[j + 1] = x;
    }
    return values;
  }
  u32 counts[4][256];
  for (u32 d = 0; d < 4; d++)
    for (u32 b = 0; b < 256; b++) counts[d][b] = 0;
  for (u32 i = 0; i < n; i++) {
    u32 x = values[i];
    counts[0][x & 255]++;
    counts[1][(x >> 8) & 255]++;
    counts[2][(x >> 16) & 255]++;
    counts[3][x >> 24]++;
  }
  u32 *from = values, *to = sorted;
  for (u32 d = 0; d < 4; d++) {
    u32 sum = 0;
    for (u32 b = 0; b < 256; b++) {
      u32 c = counts[d][b];
      counts[d][b] = sum;
      sum += c;
    }
    u32 shift = 8 * d;
    for (u32 i = 0; i < n; i++) {
      u32 x = from[i];
      to[counts[d][(x >> shift) & 255]++] = x;
    }
    u32 *t = from;
    from = to;
    to = t;
  }
  return from;
}

#define PUT_BYTE(byte)                                  \
  do {                                                  \
    if (hashing) {                                      \
      block |= (u32)(byte) << ((nbytes & 3) << 3);      \
      if ((nbytes & 3) == 3) {                          \
        h = round32(h, block);                          \
        block = 0;                                      \
      }                                                 \
      nbytes++;                                         \
    }                                                   \
  } while (0)

#define START_WORD()        \
  do {                      \
    if (!in_word) {         \
      in_word = 1;          \
      h = TOKEN_HASH_SEED;  \
      block = 0;            \
      nbytes = 0;           \
    }                       \
  } while (0)

#define END_WORD()                                                            \
  do {                                                                        \
    if (hashing) words[word_count++] = fmix32(((nbytes & 3) != 0 ? tail32(h, block) : h) ^ nbytes); \
    in_word = 0;                                                              \
  } while (0)

/*
 * Scans the `length` bytes at `input` (valid UTF-8), then makes the shingle set of its words
 * with n-grams of `ngram` words and seed `shingle_seed`. Returns DONE (results in `out`:
 * exact offset and length, words offset and count, tokens, set offset and length), FALLBACK,
 * or UNCLASSIFIED (out[0] = the character, BMP unit or astral code point, not classified yet).
 * With `ngram` 0 the set is left empty.
 */
static inline __attribute__((always_inline)) u32 scan_text(u32 length, u32 ngram, u32 shingle_seed, const u32 hashing) {
  const u8 *text = input;
  input[length] = 0; /* a sentinel in the slack: runs of letters and digits stop at the end */
  u32 exact_length = 0;
  u32 pending_space = 0;
  u32 word_count = 0;
  u32 in_word = 0;
  u32 h = 0, block = 0, nbytes = 0;
  u32 tokens = 0;
  u32 previous_class = SPACE;
  u32 i = 0;
  /* Whether the table says what the run's shortcut below assumes of U+0020: plain white space of
   * the space class, with no lower case (the host fills ASCII from the oracle's classes). */
  const u32 plain_space = (table[0x20] & (PLAIN | WHITE | LOWER_MASK | (3u << WORD_CLASS_SHIFT))) == (PLAIN | WHITE | (SPACE << WORD_CLASS_SHIFT));
  while (i < length) {
    u32 c = text[i];
    if (c - 48u < 10u || (c | 0x20u) - 97u < 26u) {
    run:;
      /* A run of ASCII letters and digits (most of any text): one word-class token unless one
       * is open, found and copied sixteen bytes at a time (the buffers have slack past the
       * text), and hashed lower-cased (c | 0x20 for every one of them) four bytes at a time
       * once the hash's block is aligned. */
      u32 j = i + 1;
      for (;;) {
        v128_t v = wasm_v128_load(text + j);
        v128_t alpha = wasm_u8x16_lt(wasm_i8x16_sub(wasm_v128_or(v, wasm_i8x16_splat(0x20)), wasm_i8x16_splat(97)), wasm_i8x16_splat(26));
        v128_t digit = wasm_u8x16_lt(wasm_i8x16_sub(v, wasm_i8x16_splat(48)), wasm_i8x16_splat(10));
        u32 run = __builtin_ctz(~(u32)wasm_i8x16_bitmask(wasm_v128_or(alpha, digit)));
        j += run;
        if (run < 16) break;
      }
      if (previous_class != 0) tokens++;
      previous_class = 0;
      if (pending_space) {
        exact[exact_length++] = 0x20;
        pending_space = 0;
      }
      for (u32 k = i; k < j; k += 16) wasm_v128_store(exact + exact_length + (k - i), wasm_v128_load(text + k));
      exact_length += j - i;
      START_WORD();
      if (hashing) {
        u32 k = i;
        while (k < j && (nbytes & 3) != 0) {
          PUT_BYTE(text[k] | 0x20u);
          k++;
        }
        if (k < j) {
          /* The block is empty here. Whole blocks, the first two without a branch (most
           * words are short), then the rest (under four bytes) as the pending block: loaded
           * whole and masked (the input has slack past its end). */
          u32 start = k;
          u32 n = j - k;
          u32 h0 = round32(h, load32(text + k) | 0x20202020u);
          h = n >= 4 ? h0 : h;
          u32 h1 = round32(h, load32(text + k + 4) | 0x20202020u);
          h = n >= 8 ? h1 : h;
          k += n >= 8 ? 8 : n >= 4 ? 4 : 0;
          for (; k + 4 <= j; k += 4) h = round32(h, load32(text + k) | 0x20202020u);
          u32 rest = j - k;
          block = (load32(text + k) | 0x20202020u) & (u32)(((unsigned long long)1 << (8 * rest)) - 1);
          nbytes += j - start;
        }
      }
      i = j;
      /* One space, then the next run (most word boundaries): what the general path below does
       * for the space — no token, the space class, a pending space (the run made the exact text
       * non-empty), the word ended — without going round the loop for it. */
      if (plain_space && text[i] == 0x20) {
        u32 next = text[i + 1];
        if (next - 48u < 10u || (next | 0x20u) - 97u < 26u) {
          previous_class = SPACE;
          pending_space = 1;
          if (in_word) END_WORD();
          i++;
          goto run;
        }
      }
      continue;
    }
    u32 unit;
    u32 size;
    if (c < 0x80) {
      unit = c;
      size = 1;
    } else if (c < 0xe0) {
      unit = ((c & 0x1f) << 6) | (text[i + 1] & 0x3f);
      size = 2;
    } else if (c < 0xf0) {
      unit = ((c & 0x0f) << 12) | ((text[i + 1] & 0x3f) << 6) | (text[i + 2] & 0x3f);
      size = 3;
    } else {
      /* An astral code point: never white space; a word character only if it has no case,
       * so its bytes are its lower case. */
      u32 code_point = ((c & 0x07) << 18) | ((text[i + 1] & 0x3f) << 12) | ((text[i + 2] & 0x3f) << 6) | (text[i + 3] & 0x3f);
      u32 *slot = astral_slot(code_point);
      if (slot[0] == 0) {
        out[0] = code_point;
        return UNCLASSIFIED;
      }
      u32 entry = slot[1];
      if ((entry & PLAIN) == 0) return FALLBACK;
      u32 word_class = (entry >> WORD_CLASS_SHIFT) & 3;
      if (word_class != previous_class) tokens++;
      previous_class = word_class;
      if (pending_space) {
        exact[exact_length++] = 0x20;
        pending_space = 0;
      }
      for (u32 k = 0; k < 4; k++) exact[exact_length++] = text[i + k];
      if ((entry & ASTRAL_WORD) != 0) {
        START_WORD();
        for (u32 k = 0; k < 4; k++) PUT_BYTE(text[i + k]);
      } else if (in_word) {
        END_WORD();
      }
      i += 4;
      continue;
    }
    u32 entry = table[unit];
    if (entry == 0) {
      out[0] = unit;
      return UNCLASSIFIED;
    }
    if ((entry & PLAIN) == 0) return FALLBACK;
    u32 word_class = (entry >> WORD_CLASS_SHIFT) & 3;
    if (word_class != SPACE && word_class != previous_class) tokens++;
    previous_class = word_class;
    if ((entry & WHITE) != 0) {
      pending_space = exact_length > 0;
    } else {
      if (pending_space) {
        exact[exact_length++] = 0x20;
        pending_space = 0;
      }
      for (u32 k = 0; k < size; k++) exact[exact_length++] = text[i + k];
    }
    u32 lower = entry & LOWER_MASK;
    if (lower != 0) {
      START_WORD();
      if (lower < 0x80) {
        PUT_BYTE(lower);
      } else if (lower < 0x800) {
        PUT_BYTE(0xc0 | (lower >> 6));
        PUT_BYTE(0x80 | (lower & 0x3f));
      } else {
        PUT_BYTE(0xe0 | (lower >> 12));
        PUT_BYTE(0x80 | ((lower >> 6) & 0x3f));
        PUT_BYTE(0x80 | (lower & 0x3f));
      }
    } else if (in_word) {
      END_WORD();
    }
    i += size;
  }
  if (in_word) END_WORD();

  /* The shingle set: each window of min(words, ngram) words hashed, sorted, deduplicated
   * (none when ngram is 0: curate's map wants the rest only). */
  u32 shingle_count = word_count == 0 || ngram == 0 ? 0 : word_count < ngram ? 1 : word_count - ngram + 1;
  u32 width = word_count < ngram ? word_count : ngram;
  /* MurmurHash3's per-block mixing depends only on the word: done once per word, in place
   * in `shingles` (then overwritten by the window hashes, each reading only words at or
   * after its own position). */
  u32 *mixed = shingles;
  for (u32 w = 0; w < word_count; w++) mixed[w] = rotl(words[w] * 0xcc9e2d51u, 15) * 0x1b873593u;
  for (u32 s = 0; s < shingle_count; s++) {
    u32 hs = shingle_seed;
    for (u32 k = 0; k < width; k++) hs = rotl(hs ^ mixed[s + k], 13) * 5 + 0xe6546b64u;
    shingles[s] = fmix32(hs ^ (4 * width));
  }
  u32 *set = sort_hashes(shingles, shingle_count);
  u32 unique = 0;
  for (u32 k = 0; k < shingle_count; k++) {
    if (k == 0 || set[k] != set[k - 1]) set[unique++] = set[k];
  }
  out[0] = (u32)(size_t)exact;
  out[1] = exact_length;
  out[2] = (u32)(size_t)words;
  out[3] = word_count;
  out[4] = tokens;
  out[5] = (u32)(size_t)set;
  out[6] = unique;
  return DONE;
}

__attribute__((export_name("scan"))) u32 scan(u32 length, u32 ngram, u32 shingle_seed) { return scan_text(length, ngram, shingle_seed, 1); }

/* `scan` without the word hashes and shingle set: the exact key text and token count only. */
__attribute__((export_name("scanKey"))) u32 scan_key(u32 length) { return scan_text(length, 0, 0, 0); }

/*
 * One-permutation MinHash of a batch of shingle sets (src/cpu/oph.ts is the specification and
 * the oracle; this is the same arithmetic, in the same order). The host writes the batch at
 * `oph_batch`'s address — offsets (docs + 1 u32), then the shingles — and the rank table of
 * `densifyRanks` (K·K u32) at `oph_ranks`' address when (K, seed) change; `oph` writes K u32
 * per document after the shingles.
 */
static u32 *batch_area;
static size_t batch_capacity; /* u32 */
static u32 *ranks_area;
static u16 *order_area;
static u32 ranks_k;

/* Room for `docs` documents, `count` shingles and their sketches at K bins; returns the offsets' address. */
__attribute__((export_name("ophBatch"))) u32 *oph_batch(u32 docs, u32 count, u32 k) {
  size_t need = (size_t)docs + 1 + count + (size_t)docs * k + k;
  if (need > batch_capacity) {
    size_t cap = batch_capacity < 65536 ? 65536 : 2 * batch_capacity;
    while (cap < need) cap *= 2;
    u32 *area = (u32 *)grow_block(4 * cap);
    if (area == 0) return 0;
    batch_area = area;
    batch_capacity = cap;
  }
  return batch_area;
}

/* Room for the K·K rank table (and the order table made from it); returns its address. */
__attribute__((export_name("ophRanks"))) u32 *oph_ranks(u32 k) {
  if (k > ranks_k) {
    u32 *area = (u32 *)grow_block((size_t)k * k * 6 + 16);
    if (area == 0) return 0;
    ranks_area = area;
    order_area = (u16 *)(ranks_area + (size_t)k * k);
    ranks_k = k;
  }
  return ranks_area;
}

#define EMPTY 0xffffffffu
#define MAX_VALUE 0xfffffffeu

/* After the host wrote the rank table for K: order[j·K + ranks[j·K + s]] = s (s ≠ j), as densifyOrder. */
__attribute__((export_name("ophOrder"))) void oph_order(u32 k) {
  for (u32 j = 0; j < k; j++)
    for (u32 s = 0; s < k; s++)
      if (s != j) order_area[(size_t)j * k + ranks_area[(size_t)j * k + s]] = (u16)s;
}

static inline u32 mix(u32 x, u32 a, u32 b, u32 c) { return fmix32((x ^ a) * b + c); }

/* Sketches of the batch at `oph_batch`'s address; returns the address of the first. */
__attribute__((export_name("oph"))) u32 *oph(u32 docs, u32 k, u32 bin_a, u32 bin_b, u32 bin_c, u32 value_a, u32 value_b, u32 value_c) {
  const u32 *offsets = batch_area;
  const u32 *shingle = batch_area + docs + 1;
  u32 *sketches = (u32 *)shingle + offsets[docs];
  u32 *raw = sketches + (size_t)docs * k;
  u32 shift = 0;
  if (k >= 2 && (k & (k - 1)) == 0) {
    shift = 32;
    for (u32 kk = k; kk > 1; kk >>= 1) shift--;
  }
  for (u32 d = 0; d < docs; d++) {
    u32 *out = sketches + (size_t)d * k;
    if (offsets[d + 1] == offsets[d]) {
      for (u32 j = 0; j < k; j++) out[j] = EMPTY;
      continue;
    }
    for (u32 j = 0; j < k; j++) raw[j] = EMPTY;
    u32 filled = 0;
    for (u32 i = offsets[d]; i < offsets[d + 1]; i++) {
      u32 x = shingle[i];
      u32 h = mix(x, bin_a, bin_b, bin_c);
      u32 bin = shift > 0 ? h >> shift : (u32)(((unsigned long long)h * k) >> 32);
      u32 v = mix(x, value_a, value_b, value_c);
      u32 value = v < MAX_VALUE ? v : MAX_VALUE;
      u32 current = raw[bin];
      if (value < current) {
        filled += current == EMPTY;
        raw[bin] = value;
      }
    }
    if (filled == k) {
      for (u32 j = 0; j < k; j++) out[j] = raw[j];
    } else if (filled * filled < k) {
      /* Few non-empty bins (fewer than 32, as K <= 1024): each empty bin takes the one of least rank. */
      u32 non_empty[32];
      u32 m = 0;
      for (u32 s = 0; s < k; s++)
        if (raw[s] != EMPTY) non_empty[m++] = s;
      for (u32 j = 0; j < k; j++) {
        if (raw[j] != EMPTY) {
          out[j] = raw[j];
          continue;
        }
        const u32 *rank = ranks_area + (size_t)j * k;
        u32 best = non_empty[0];
        for (u32 q = 1; q < m; q++)
          if (rank[non_empty[q]] < rank[best]) best = non_empty[q];
        out[j] = raw[best];
      }
    } else {
      /* Many: walk empty bin j's list to its first non-empty bin. */
      for (u32 j = 0; j < k; j++) {
        if (raw[j] != EMPTY) {
          out[j] = raw[j];
          continue;
        }
        const u16 *order = order_area + (size_t)j * k;
        u32 t = 0;
        while (raw[order[t]] == EMPTY) t++;
        out[j] = raw[order[t]];
      }
    }
  }
  return sketches;
}

/*
 * Gopher-style text statistics (src/filters/heuristics.ts `textStats` is the specification and
 * the oracle) of the text `scan` was last given (`length` bytes at the input): words are runs
 * of non-white-space (JavaScript's \s), letters count code points in words ("..." three, as
 * textStats counts it), '#' and '…' count one symbol each and so does "..." (left to right,
 * without overlap: a run of n dots counts n / 3, rounded down); lines are split at \n,
 * trimmed of \s (a \r before the \n with them) and the non-empty ones counted, with how many
 * repeat an earlier line. Results in `out`: words, letters, symbols, lines, repeated lines.
 * Returns FALLBACK when the text holds U+FFFD (TextEncoder's replacement of an unpaired
 * surrogate: two different ones would look equal here), else DONE; 0 when memory cannot grow.
 */
static inline u32 space_at(const u8 *t, u32 i, u32 length, u32 *size) {
  u32 c = t[i];
  if (c < 0x80) {
    *size = 1;
    return c == 0x20 || (c >= 0x09 && c <= 0x0d);
  }
  if (c < 0xe0) {
    *size = 2;
    return c == 0xc2 && i + 1 < length && t[i + 1] == 0xa0; /* U+00A0 */
  }
  if (c < 0xf0) {
    *size = 3;
    u32 unit = ((c & 0x0f) << 12) | ((t[i + 1] & 0x3f) << 6) | (t[i + 2] & 0x3f);
    return unit == 0x1680 || (unit >= 0x2000 && unit <= 0x200a) || unit == 0x2028 || unit == 0x2029 || unit == 0x202f || unit == 0x205f || unit == 0x3000 || unit == 0xfeff;
  }
  *size = 4;
  return 0;
}

static u32 *line_table;
static u32 line_slots;

static int same_bytes(const u8 *a, const u8 *b, u32 n) {
  for (u32 k = 0; k < n; k++)
    if (a[k] != b[k]) return 0;
  return 1;
}

__attribute__((export_name("stats"))) u32 stats(u32 length) {
  const u8 *t = input;
  u32 words = 0, letters = 0, symbols = 0, in_word = 0, newlines = 0;
  /* "..." counts one symbol, left to right without overlap: floor(n / 3) for each run of n dots. */
  u32 dots = 0;
  for (u32 i = 0; i < length;) {
    if (i + 16 <= length) {
      /* Sixteen ASCII bytes at once: each is one code point, white space or not. */
      v128_t v = wasm_v128_load(t + i);
      if (wasm_i8x16_bitmask(v) == 0) {
        v128_t space = wasm_v128_or(wasm_i8x16_eq(v, wasm_i8x16_splat(0x20)), wasm_u8x16_lt(wasm_i8x16_sub(v, wasm_i8x16_splat(0x09)), wasm_i8x16_splat(5)));
        u32 non_space = ~(u32)wasm_i8x16_bitmask(space) & 0xffffu;
        u32 starts = non_space & ~((non_space << 1) | in_word);
        words += __builtin_popcount(starts);
        letters += __builtin_popcount(non_space);
        symbols += __builtin_popcount((u32)wasm_i8x16_bitmask(wasm_i8x16_eq(v, wasm_i8x16_splat(0x23))));
        newlines += __builtin_popcount((u32)wasm_i8x16_bitmask(wasm_i8x16_eq(v, wasm_i8x16_splat(0x0a))));
        u32 dot = (u32)wasm_i8x16_bitmask(wasm_i8x16_eq(v, wasm_i8x16_splat(0x2e)));
        if (dot == 0) {
          symbols += dots / 3;
          dots = 0;
        } else {
          for (u32 k = 0; k < 16; k++) {
            if ((dot >> k) & 1) dots++;
            else {
              symbols += dots / 3;
              dots = 0;
            }
          }
        }
        in_word = non_space >> 15;
        i += 16;
        continue;
      }
    }
    u32 c = t[i];
    if (c != 0x2e) {
      symbols += dots / 3;
      dots = 0;
    }
    if (c < 0x80) {
      if (c == 0x20 || (c >= 0x09 && c <= 0x0d)) {
        newlines += c == 0x0a;
        in_word = 0;
        i++;
        continue;
      }
      words += !in_word;
      in_word = 1;
      letters++;
      symbols += c == 0x23;
      dots += c == 0x2e;
      i++;
      continue;
    }
    if (c == 0xef && i + 2 < length && t[i + 1] == 0xbf && t[i + 2] == 0xbd) return FALLBACK;
    u32 size;
    if (space_at(t, i, length, &size)) {
      in_word = 0;
      i += size;
      continue;
    }
    words += !in_word;
    in_word = 1;
    letters++;
    if (c == 0xe2 && t[i + 1] == 0x80 && t[i + 2] == 0xa6) symbols++; /* … */
    i += size;
  }
  symbols += dots / 3;
  /* Repeated lines: an open-addressing table of (hash, start, length + 1) at load <= 1/2. */
  u32 slots = 16;
  while (slots < 2 * (newlines + 1)) slots *= 2;
  if (slots > line_slots) {
    u32 *table = (u32 *)grow_block((size_t)slots * 12);
    if (table == 0) return 0;
    line_table = table;
    line_slots = slots;
  }
  for (u32 k = 0; k < 3 * slots; k++) line_table[k] = 0;
  u32 lines = 0, repeated = 0;
  for (u32 start = 0; start <= length;) {
    u32 end = start;
    while (end < length && t[end] != 0x0a) end++;
    /* Trim \s from both ends (white space is never inside a multi-byte sequence's tail). */
    u32 a = start, b = end, size;
    while (a < b && space_at(t, a, b, &size)) a += size;
    while (b > a) {
      /* The last character starts at the last byte that is not a continuation byte. */
      u32 last = b - 1;
      while (last > a && (t[last] & 0xc0) == 0x80) last--;
      if (!space_at(t, last, b, &size)) break;
      b = last;
    }
    if (b > a) {
      lines++;
      /* MurmurHash3's rounds over the line's 4-byte blocks (not the exact MurmurHash3: the tail
       * is folded in one more round), then fmix32. */
      u32 h = b - a;
      u32 k = a;
      for (; k + 4 <= b; k += 4) h = round32(h, (u32)t[k] | (u32)t[k + 1] << 8 | (u32)t[k + 2] << 16 | (u32)t[k + 3] << 24);
      u32 tail = 0;
      for (u32 q = 0; k < b; k++, q += 8) tail |= (u32)t[k] << q;
      h = fmix32(round32(h, tail));
      u32 at = h & (slots - 1);
      for (;;) {
        u32 *slot = line_table + 3 * at;
        if (slot[2] == 0) {
          slot[0] = h;
          slot[1] = a;
          slot[2] = b - a + 1;
          break;
        }
        if (slot[0] == h && slot[2] == b - a + 1 && same_bytes(t + slot[1], t + a, b - a)) {
          repeated++;
          break;
        }
        at = (at + 1) & (slots - 1);
      }
    }
    start = end + 1;
  }
  out[0] = words;
  out[1] = letters;
  out[2] = symbols;
  out[3] = lines;
  out[4] = repeated;
  return DONE;
}

/*
 * JSON Lines for dedup's map (src/dedup/doc-scan.ts): `jsonLine` checks that the line the host
 * wrote at `input` is one JSON object exactly as JSON.parse would accept it (RFC 8259 grammar,
 * strict UTF-8 inside strings, any nesting up to JSON_MAX_DEPTH), notes where the values of the
 * configured top-level keys are (the last of duplicates, as JSON.parse keeps), and writes the
 * text key's string, unescaped, as UTF-8 at `input` itself, where `scan` reads. Anything it is
 * not sure of — bad JSON, bad UTF-8, a key with an escape at the top level, an unpaired
 * surrogate escape in the text, deeper nesting — returns NOT_JSON_PLAIN, and the host reads the
 * line with JSON.parse instead, so every message about a bad line stays V8's own.
 */
#define JSON_MAX_KEYS 8
#define JSON_NAME_BYTES 1024
#define JSON_MAX_DEPTH 512
#define NOT_JSON_PLAIN 1
/* Kinds of value (json_spans[3k]). */
#define J_ABSENT 0
#define J_STRING 1 /* a string without escapes: its bytes are its UTF-8 */
#define J_ESCAPED 2
#define J_INTEGER 3 /* a number with neither fraction nor exponent */
#define J_NUMBER 4
#define J_OTHER 5 /* true, false, null, an object or an array */

/* Filled by the host: how many keys, each one's UTF-8 length, then the names back to back. */
static struct {
  u32 count;
  u32 lengths[JSON_MAX_KEYS];
  u8 names[JSON_NAME_BYTES];
} json_keys;
/* Per key: kind, start, end (byte offsets in the line; a string's without its quotes); then the
 * unescaped text's UTF-8 length, its UTF-16 length, and 1 when it has a character that
 * String.prototype.trim would keep. */
static u32 json_spans[3 * JSON_MAX_KEYS + 3];
static u8 json_stack[JSON_MAX_DEPTH];

__attribute__((export_name("jsonKeys"))) void *json_keys_address(void) { return &json_keys; }
__attribute__((export_name("jsonSpans"))) u32 *json_spans_address(void) { return json_spans; }

static inline const u8 *skip_space(const u8 *p) {
  while (*p == 0x20 || *p == 0x0a || *p == 0x0d || *p == 0x09) p++;
  return p;
}

static inline u32 hex_digit(u32 c) {
  if (c - 48u < 10u) return c - 48u;
  if ((c | 0x20u) - 97u < 6u) return (c | 0x20u) - 87u;
  return 16;
}

/* The four hex digits at p, or a value above 0xffff when they are not four hex digits. */
static inline u32 hex4(const u8 *p) {
  return hex_digit(p[0]) << 12 | hex_digit(p[1]) << 8 | hex_digit(p[2]) << 4 | hex_digit(p[3]) | ((hex_digit(p[0]) | hex_digit(p[1]) | hex_digit(p[2]) | hex_digit(p[3])) & 16) << 12;
}

/* Length of the valid UTF-8 sequence starting at p (its first byte >= 0x80), or 0. */
static inline u32 utf8_sequence(const u8 *p) {
  u32 c = p[0];
  if (c >= 0xc2 && c <= 0xdf) return (p[1] & 0xc0) == 0x80 ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    u32 lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    u32 lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 ? 4 : 0;
  }
  return 0;
}

/*
 * The end of the string whose contents start at p (just past its closing quote), or 0 when it is
 * not a valid JSON string; *escaped becomes 1 when it has an escape. Bytes that need a look —
 * quote, backslash, control characters and non-ASCII — are found sixteen at a time (a signed
 * compare with 0x20 catches both control bytes and bytes >= 0x80); the line's terminating 0
 * stops an unterminated string as a control character.
 */
static const u8 *json_string(const u8 *p, u32 *escaped) {
  for (;;) {
    v128_t v = wasm_v128_load(p);
    v128_t look = wasm_v128_or(wasm_i8x16_lt(v, wasm_i8x16_splat(0x20)),
        wasm_v128_or(wasm_i8x16_eq(v, wasm_i8x16_splat('"')), wasm_i8x16_eq(v, wasm_i8x16_splat('\\'))));
    u32 mask = (u32)wasm_i8x16_bitmask(look);
    if (mask == 0) {
      p += 16;
      continue;
    }
    p += __builtin_ctz(mask);
    u32 c = *p;
    if (c == '"') return p + 1;
    if (c == '\\') {
      *escaped = 1;
      u32 e = p[1];
      if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') p += 2;
      else if (e == 'u' && hex4(p + 2) <= 0xffff) p += 6;
      else return 0;
    } else if (c >= 0x80) {
      u32 n = utf8_sequence(p);
      if (n == 0) return 0;
      p += n;
    } else {
      return 0; /* a control character */
    }
  }
}

static inline u32 is_digit(u32 c) { return c - 48u < 10u; }

/* The end of the number at p, or 0; *integer becomes 0 when it has a fraction or an exponent. */
static const u8 *json_number(const u8 *p, u32 *integer) {
  if (*p == '-') p++;
  if (*p == '0') p++;
  else if (*p - 49u < 9u) while (is_digit(*p)) p++;
  else return 0;
  *integer = 1;
  if (*p == '.') {
    p++;
    if (!is_digit(*p)) return 0;
    while (is_digit(*p)) p++;
    *integer = 0;
  }
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+' || *p == '-') p++;
    if (!is_digit(*p)) return 0;
    while (is_digit(*p)) p++;
    *integer = 0;
  }
  return p;
}

/* The configured key equal to the n bytes at p, or JSON_MAX_KEYS when none is. */
static u32 json_key(const u8 *p, u32 n) {
  const u8 *name = json_keys.names;
  for (u32 k = 0; k < json_keys.count; k++) {
    u32 length = json_keys.lengths[k];
    if (length == n && same_bytes(name, p, n)) return k;
    name += length;
  }
  return JSON_MAX_KEYS;
}

/* Writes code point cp as UTF-8 at d; returns the end. */
static inline u8 *put_utf8(u8 *d, u32 cp) {
  if (cp < 0x80) {
    *d++ = (u8)cp;
  } else if (cp < 0x800) {
    *d++ = (u8)(0xc0 | cp >> 6);
    *d++ = (u8)(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *d++ = (u8)(0xe0 | cp >> 12);
    *d++ = (u8)(0x80 | (cp >> 6 & 0x3f));
    *d++ = (u8)(0x80 | (cp & 0x3f));
  } else {
    *d++ = (u8)(0xf0 | cp >> 18);
    *d++ = (u8)(0x80 | (cp >> 12 & 0x3f));
    *d++ = (u8)(0x80 | (cp >> 6 & 0x3f));
    *d++ = (u8)(0x80 | (cp & 0x3f));
  }
  return d;
}

/*
 * Unescapes the (validated) string contents s..end to d, which is at or before s: the output never
 * outgrows what it has read, so a block of sixteen bytes without an escape is stored whole (the
 * next load starts past it). Returns the output's end, or 0 at an unpaired surrogate escape
 * (JSON.parse keeps it as a lone UTF-16 unit, which has no UTF-8).
 */
static u8 *json_unescape(u8 *d, const u8 *s, const u8 *end) {
  while (s < end) {
    v128_t v = wasm_v128_load(s);
    u32 mask = (u32)wasm_i8x16_bitmask(wasm_i8x16_eq(v, wasm_i8x16_splat('\\')));
    u32 run = mask == 0 ? 16 : (u32)__builtin_ctz(mask);
    if (run > (u32)(end - s)) run = (u32)(end - s);
    if (mask == 0) {
      wasm_v128_store(d, v);
    } else {
      /* Byte by byte: a whole store could overwrite the escape still to be read. */
      for (u32 k = 0; k < run; k++) d[k] = s[k];
    }
    d += run;
    s += run;
    if (s >= end || mask == 0) continue;
    u32 e = s[1];
    u32 cp;
    switch (e) {
      case 'b': cp = 0x08; break;
      case 'f': cp = 0x0c; break;
      case 'n': cp = 0x0a; break;
      case 'r': cp = 0x0d; break;
      case 't': cp = 0x09; break;
      case 'u': cp = hex4(s + 2); break;
      default: cp = e; break; /* " \ / */
    }
    s += e == 'u' ? 6 : 2;
    if (cp - 0xd800u < 0x800u) {
      if (cp >= 0xdc00u || s >= end || s[0] != '\\' || s[1] != 'u') return 0;
      u32 low = hex4(s + 2);
      if (low - 0xdc00u >= 0x400u) return 0;
      cp = 0x10000 + ((cp - 0xd800u) << 10) + (low - 0xdc00u);
      s += 6;
    }
    d = put_utf8(d, cp);
  }
  return d;
}

/* 1 when code point cp is white space or a line terminator to String.prototype.trim. */
static inline u32 trim_space(u32 cp) {
  return cp == 0x20 || cp - 9u < 5u || cp == 0xa0 || cp == 0x1680 || cp - 0x2000u < 11u || cp == 0x2028 || cp == 0x2029 ||
      cp == 0x202f || cp == 0x205f || cp == 0x3000 || cp == 0xfeff;
}

/* 1 when the UTF-8 text t[0..n) has a character String.prototype.trim keeps. */
static u32 has_content(const u8 *t, u32 n) {
  u32 i = 0;
  while (i < n) {
    u32 c = t[i];
    u32 cp, size;
    if (c < 0x80) { cp = c; size = 1; }
    else if (c < 0xe0) { cp = (c & 0x1f) << 6 | (t[i + 1] & 0x3f); size = 2; }
    else if (c < 0xf0) { cp = (c & 0x0f) << 12 | (t[i + 1] & 0x3f) << 6 | (t[i + 2] & 0x3f); size = 3; }
    else return 1; /* astral: never white space */
    if (!trim_space(cp)) return 1;
    i += size;
  }
  return 0;
}

/* UTF-16 units of the valid UTF-8 text t[0..n): a unit per lead byte, two for a four-byte one. */
static u32 utf16_units(const u8 *t, u32 n) {
  u32 units = 0, i = 0;
  for (; i + 16 <= n; i += 16) {
    v128_t v = wasm_v128_load(t + i);
    v128_t continuation = wasm_i8x16_eq(wasm_v128_and(v, wasm_i8x16_splat((char)0xc0)), wasm_i8x16_splat((char)0x80));
    v128_t four = wasm_u8x16_ge(v, wasm_i8x16_splat((char)0xf0));
    units += 16 - (u32)__builtin_popcount((u32)wasm_i8x16_bitmask(continuation)) + (u32)__builtin_popcount((u32)wasm_i8x16_bitmask(four));
  }
  for (; i < n; i++) units += ((t[i] & 0xc0) != 0x80) + (t[i] >= 0xf0);
  return units;
}

/*
 * Checks the `length`-byte line at `input` and fills json_spans (see above); with `text_key` a
 * configured key whose value is a string, that string is then unescaped to `input`. Returns
 * DONE or NOT_JSON_PLAIN.
 */
__attribute__((export_name("jsonLine"))) u32 json_line(u32 length, u32 text_key) {
  u8 *line = input;
  line[length] = 0; /* in the slack: stops every scan at the line's end */
  const u8 *end = line + length;
  for (u32 k = 0; k < 3 * JSON_MAX_KEYS + 3; k++) json_spans[k] = 0;
  const u8 *p = skip_space(line);
  if (*p != '{') return NOT_JSON_PLAIN;
  p++;
  u32 depth = 1;
  json_stack[0] = '{';
  u32 key = JSON_MAX_KEYS;
  goto opened;
  for (;;) {
    /* After a value: a comma, or the innermost container's closer. */
    p = skip_space(p);
    if (*p == ',') {
      p++;
      if (json_stack[depth - 1] == '{') goto member;
      key = JSON_MAX_KEYS;
      goto value;
    }
    if (*p != (json_stack[depth - 1] == '{' ? '}' : ']')) return NOT_JSON_PLAIN;
    p++;
    if (--depth == 0) break;
    continue;
  opened:
    /* Just inside a container: its closer, or its first member or element. */
    p = skip_space(p);
    if (*p == (json_stack[depth - 1] == '{' ? '}' : ']')) {
      p++;
      if (--depth == 0) break;
      continue;
    }
    key = JSON_MAX_KEYS;
    if (json_stack[depth - 1] == '[') goto value;
  member:
    p = skip_space(p);
    if (*p != '"') return NOT_JSON_PLAIN;
    {
      u32 escaped = 0;
      const u8 *name = p + 1;
      p = json_string(name, &escaped);
      if (p == 0) return NOT_JSON_PLAIN;
      key = JSON_MAX_KEYS;
      if (depth == 1) {
        if (escaped) return NOT_JSON_PLAIN; /* it might spell a configured key */
        key = json_key(name, (u32)(p - 1 - name));
      }
    }
    p = skip_space(p);
    if (*p != ':') return NOT_JSON_PLAIN;
    p++;
  value:
    p = skip_space(p);
    {
      const u8 *start = p;
      u32 kind;
      u32 c = *p;
      if (c == '"') {
        u32 escaped = 0;
        p = json_string(p + 1, &escaped);
        if (p == 0) return NOT_JSON_PLAIN;
        kind = escaped ? J_ESCAPED : J_STRING;
        if (key < JSON_MAX_KEYS) {
          json_spans[3 * key] = kind;
          json_spans[3 * key + 1] = (u32)(start + 1 - line);
          json_spans[3 * key + 2] = (u32)(p - 1 - line);
        }
        continue;
      }
      if (c == '{' || c == '[') {
        if (depth == JSON_MAX_DEPTH) return NOT_JSON_PLAIN;
        if (key < JSON_MAX_KEYS) json_spans[3 * key] = J_OTHER;
        json_stack[depth++] = (u8)c;
        p++;
        goto opened;
      }
      if (c == '-' || is_digit(c)) {
        u32 integer = 0;
        p = json_number(p, &integer);
        if (p == 0) return NOT_JSON_PLAIN;
        kind = integer ? J_INTEGER : J_NUMBER;
      } else if (c == 't' && p[1] == 'r' && p[2] == 'u' && p[3] == 'e') {
        p += 4;
        kind = J_OTHER;
      } else if (c == 'f' && p[1] == 'a' && p[2] == 'l' && p[3] == 's' && p[4] == 'e') {
        p += 5;
        kind = J_OTHER;
      } else if (c == 'n' && p[1] == 'u' && p[2] == 'l' && p[3] == 'l') {
        p += 4;
        kind = J_OTHER;
      } else {
        return NOT_JSON_PLAIN;
      }
      if (key < JSON_MAX_KEYS) {
        json_spans[3 * key] = kind;
        json_spans[3 * key + 1] = (u32)(start - line);
        json_spans[3 * key + 2] = (u32)(p - line);
      }
    }
  }
  if (skip_space(p) != end) return NOT_JSON_PLAIN;
  if (text_key >= json_keys.count) return DONE;
  u32 kind = json_spans[3 * text_key];
  if (kind != J_STRING && kind != J_ESCAPED) return DONE;
  const u8 *from = line + json_spans[3 * text_key + 1];
  const u8 *to = line + json_spans[3 * text_key + 2];
  u8 *text_end = json_unescape(line, from, to);
  if (text_end == 0) return NOT_JSON_PLAIN;
  u32 n = (u32)(text_end - line);
  json_spans[3 * JSON_MAX_KEYS] = n;
  json_spans[3 * JSON_MAX_KEYS + 1] = utf16_units(line, n);
  json_spans[3 * JSON_MAX_KEYS + 2] = has_content(line, n);
  return DONE;
}
