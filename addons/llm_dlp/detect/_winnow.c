/* llm_dlp._winnow: the tokenizer and winnowing behind llm_dlp.fingerprint, compiled.

   The Python module owns the parameters (k, k_spelled, w, cap, keywords, seed, a language's syntax bits)
   and the index version; this file is a pure function from a text and those parameters to
   fingerprints.

   Token codes: ASCII punctuation is itself (below 0x80), except what formatters add or remove
   at will (, ; ( ) \), which makes no token; a string literal's literal parts are STRINGS plus
   a hash of their content in STRING_BUCKETS buckets, its interpolations are lexed as code;
   a number is NUMBER plus a hash of its spelling (any case, no digit separators) in
   NUMBER_BUCKETS buckets (a table of constants is told from another by its values); a keyword
   is KEYWORD_BASE plus its rank; an identifier is KEYWORD_BASE + keyword count plus the distance
   in words back to the previous use of the same name (0 when none within cap words), and within
   a k-gram, 0 when that use lies before the k-gram; a word of the language's grammar (SQL's,
   the first own of its reserved words) has a code of its own after those. Imports, comments and
   markdown fence lines make no tokens; the words of comments and docstrings are kept apart, as prose. Each token also keeps its spelling (a name's, a string's or a number's hash).

   Fingerprints are of two kinds, winnowed apart: of the shape (k-grams of codes, renaming-proof)
   and as written (shorter k-grams of spellings, which only a copy shares), and a third of the
   prose of comments and docstrings (k-grams of their words); the lowest bits of a
   fingerprint's hash say which, and of the shape, whether its k-gram holds two telling
   literals (strings or numbers of 2 characters or more).

   Every pass is linear in the text. A search for a closing delimiter that failed is
   remembered, so unterminated strings and comments cannot make the lexer quadratic (a
   backtracking regex was: 8 s for 32 KB of '\'\'...). The GIL is released while it runs, so
   matching in worker threads leaves the proxy's event loop free. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
    STRINGS = 0x80,
    STRING_BUCKETS = 4096,
    NUMBER = STRINGS + STRING_BUCKETS,
    NUMBER_BUCKETS = 64,
    KEYWORD_BASE = NUMBER + NUMBER_BUCKETS,
    MAX_CAP = 63,
    MAX_PROSE_K = 64,
    RECENT = 64, /* ring of the last words' hashes: a power of two above MAX_CAP */
    LAST_USES = 1024, /* slots of the table of each word's last use: a power of two */
};
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
#define KGRAM_BASE 1000003ull
#define PROSE_SEED 0x70726f7365ull

typedef struct {
    uint64_t hash;
    int32_t rank; /* -1: an empty slot */
} Keyword;

typedef struct {
    Keyword *slots; /* open addressing, mask + 1 slots */
    Py_ssize_t count;
    uint64_t mask;
} Words;

typedef struct {
    Py_ssize_t k, k_spelled, w, cap;
    Py_ssize_t k_prose; /* words per k-gram of comments' prose; 0: none */
    uint64_t seed;
    uint32_t syntax; /* the language's comment and string marks, below */
    Words keywords;
    Words reserved; /* the language's own words, in lower case: identifiers, but no names */
    Py_ssize_t own; /* the first own of them (by rank) are its grammar: each a code of its own */
} Params;

/* What a token is to a k-gram: a name (an identifier that is no reserved word), a reserved
   word, a telling literal (a string or number of TELLING_CHARS characters or more: 'a', '<=',
   0 and 1 are everyone's), or anything else. */
enum { OTHER, NAME, RESERVED, TELLING };
enum { TELLING_CHARS = 2 };

/* The words of comments and docstrings, along the text: prose, which no code token holds. */
typedef struct {
    uint64_t *words; /* each word's hash, in lower case */
    int32_t *lines;
    int32_t *at; /* the code token that follows it */
    Py_ssize_t count, capacity; /* capacity: the room in its scratch block */
} Prose;

typedef struct {
    uint32_t *codes;
    uint64_t *spelling; /* of each token as written: an identifier's name, a string's or number's content */
    int32_t *lines;
    int32_t *prev; /* an identifier's previous use (a token), -1 if none within cap words */
    uint8_t *roles; /* OTHER, NAME, RESERVED or TELLING */
    Py_ssize_t count;
    Prose prose;
} Tokens;

typedef struct {
    uint64_t *hashes;           /* the lowest bits say which kind */
    int32_t *lines, *end_lines; /* where each fingerprinted k-gram starts and ends */
    int32_t *at;                /* the token it starts at */
    Py_ssize_t count;
} Prints;

/* ---- scratch memory, kept between calls by each thread ------------------------------------ */

/* A text's arrays take megabytes, and a block that large, freshly allocated, is a fresh
   mapping: every page of it a page fault when first written (a tenth of the time of a 256 KB
   request). So each thread keeps its blocks, one for each use, up to SCRATCH_KEPT bytes each
   (an index of large files does not keep theirs), and frees them when it ends. */
enum { TEXT_BLOCK, TOKENS_BLOCK, PROSE_BLOCK, HASH_BLOCK, SHAPE_BLOCK, SPELLED_BLOCK, PROSE_PRINTS_BLOCK, HITS_BLOCK, SCRATCH_BLOCKS };
#define SCRATCH_KEPT ((size_t)16 << 20)

typedef struct {
    void *memory;
    size_t size;
} Block;

static pthread_key_t scratch_key;

static void free_scratch(void *blocks)
{
    for (int i = 0; i < SCRATCH_BLOCKS; i++)
        free(((Block *)blocks)[i].memory);
    free(blocks);
}

/* This thread's block for one use, of size bytes at least (its content is left over from
   an earlier call); NULL when out of memory. Needs no GIL. */
static void *scratch(int use, size_t size)
{
    Block *blocks = pthread_getspecific(scratch_key);
    if (!blocks && (!(blocks = calloc(SCRATCH_BLOCKS, sizeof *blocks)) || pthread_setspecific(scratch_key, blocks))) {
        free(blocks);
        return NULL;
    }
    Block *block = &blocks[use];
    if (block->size < size) {
        free(block->memory);
        block->size = (block->memory = malloc(size)) ? size : 0;
    }
    return block->memory;
}

/* Gives back this thread's blocks larger than SCRATCH_KEPT, at the end of a call. */
static void trim_scratch(void)
{
    Block *blocks = pthread_getspecific(scratch_key);
    for (int i = 0; blocks && i < SCRATCH_BLOCKS; i++)
        if (blocks[i].size > SCRATCH_KEPT) {
            free(blocks[i].memory);
            blocks[i] = (Block){NULL, 0};
        }
}

static uint64_t mix(uint64_t x) /* splitmix64's finaliser */
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* What an ASCII character is to the lexer; everything from 0x80 up is a word character
   (letters of any script). An opener may open a comment or a string, else it is punctuation. */
enum { PUNCTUATION, SPACE, NEWLINE, WORD, OPENER };
static uint8_t ascii_class[128];

/* The characters that may be more than themselves in a string: escapes, interpolations, braces. */
static uint8_t string_marks[128];

static void classify_ascii(void)
{
    for (int c = 0; c < 128; c++)
        ascii_class[c] = PUNCTUATION;
    for (const char *c = " \t\v\f\r"; *c; c++)
        ascii_class[(int)*c] = SPACE;
    ascii_class['\n'] = NEWLINE;
    for (const char *c = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$"; *c; c++)
        ascii_class[(int)*c] = WORD;
    for (const char *c = "#/-\"'`"; *c; c++)
        ascii_class[(int)*c] = OPENER;
    for (const char *c = "\\$#{}"; *c; c++)
        string_marks[(int)*c] = 1;
}

static int char_class(uint32_t c) { return c < 128 ? ascii_class[c] : WORD; }

/* ---- pass 1: empty markdown fence lines (``` or ~~~), in place -------------------------- */

/* Fence lines: spaces and tabs, then ``` or ~~~. Found in the str itself, so that the Python
   module's cutting into fenced blocks and this pass share one search. */

/* The first mark at or after i, or n: memchr in the str's bytes whatever their width (a byte
   that is only part of a wider character is passed over). */
static Py_ssize_t next_mark(int kind, const void *data, Py_ssize_t i, Py_ssize_t n, char mark)
{
    const char *bytes = data, *end = bytes + n * kind;
    int shift = kind >> 1; /* of a byte's offset to its character's: 1, 2 and 4 bytes wide */
    for (const char *at = bytes + i * kind; at < end && (at = memchr(at, mark, (size_t)(end - at))); at++) {
        Py_ssize_t c = (at - bytes) >> shift;
        if (kind == PyUnicode_1BYTE_KIND || PyUnicode_READ(kind, data, c) == (Py_UCS4)mark)
            return c;
    }
    return n;
}

/* The start of the fence line that the mark at i opens (three of it, only blanks before them
   on the line), or -1. */
static Py_ssize_t fence_line_at(int kind, const void *data, Py_ssize_t i, Py_ssize_t n)
{
    Py_UCS4 mark = PyUnicode_READ(kind, data, i), c;
    if (i + 2 >= n || PyUnicode_READ(kind, data, i + 1) != mark || PyUnicode_READ(kind, data, i + 2) != mark)
        return -1;
    while (i > 0 && ((c = PyUnicode_READ(kind, data, i - 1)) == ' ' || c == '\t'))
        i--;
    return i == 0 || PyUnicode_READ(kind, data, i - 1) == '\n' ? i : -1;
}

/* The start of each fence line of text, ascending, found from each ` and ~ (far fewer than
   lines); NULL with an exception set. */
static PyObject *fence_line_starts(PyObject *text)
{
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    PyObject *starts = PyList_New(0);
    for (const char *mark = "`~"; starts && *mark; mark++)
        for (Py_ssize_t i = next_mark(kind, data, 0, n, *mark), line; starts && i < n; i = next_mark(kind, data, i + 1, n, *mark)) {
            if ((line = fence_line_at(kind, data, i, n)) < 0)
                continue;
            PyObject *at = PyLong_FromSsize_t(line);
            if (!at || PyList_Append(starts, at) < 0)
                Py_CLEAR(starts);
            Py_XDECREF(at);
        }
    if (starts && PyList_Sort(starts) < 0) /* the lines of ``` and of ~~~ */
        Py_CLEAR(starts);
    return starts;
}

/* The end of the line-number prefix of the line starting at i (spaces and tabs, 1 to 9 digits,
   then a tab, an arrow, a colon, or a bar between spaces and tabs), its number into *number;
   or -1. */
static Py_ssize_t number_prefix_end(int kind, const void *data, Py_ssize_t i, Py_ssize_t n, long long *number)
{
    while (i < n && (PyUnicode_READ(kind, data, i) == ' ' || PyUnicode_READ(kind, data, i) == '\t'))
        i++;
    Py_ssize_t digits = 0;
    for (*number = 0; i < n && Py_UNICODE_ISDECIMAL(PyUnicode_READ(kind, data, i)); i++, digits++)
        *number = *number * 10 + Py_UNICODE_TODECIMAL(PyUnicode_READ(kind, data, i));
    if (digits < 1 || digits > 9 || i >= n)
        return -1;
    Py_UCS4 c = PyUnicode_READ(kind, data, i);
    if (c == '\t' || c == 0x2192 || c == ':')
        return i + 1;
    while (i < n && (PyUnicode_READ(kind, data, i) == ' ' || PyUnicode_READ(kind, data, i) == '\t'))
        i++;
    if (i >= n || PyUnicode_READ(kind, data, i) != '|')
        return -1;
    return i + 1 < n && (PyUnicode_READ(kind, data, i + 1) == ' ' || PyUnicode_READ(kind, data, i + 1) == '\t') ? i + 2 : i + 1;
}

/* [start, end, start, end, ...]: the line-number prefixes of the runs of at least run lines
   numbered one after another (n, n + 1, ...). */
static PyObject *numbered_prefixes(PyObject *text, Py_ssize_t run)
{
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), begun = 0, length = 0, line = 0, last_line = -2;
    long long last_number = -2, number;
    PyObject *out = PyList_New(0);
    for (Py_ssize_t i = 0; out && i <= n; i = next_mark(kind, data, i, n, '\n') + 1, line++) {
        Py_ssize_t end = number_prefix_end(kind, data, i, n, &number);
        if (end < 0)
            continue;
        if (line != last_line + 1 || number != last_number + 1) { /* a new run: the last one stays if long enough */
            if (length < run && PyList_SetSlice(out, begun, PyList_GET_SIZE(out), NULL) < 0)
                Py_CLEAR(out);
            begun = out ? PyList_GET_SIZE(out) : 0, length = 0;
        }
        PyObject *a = PyLong_FromSsize_t(i), *b = PyLong_FromSsize_t(end);
        if (!out || !a || !b || PyList_Append(out, a) < 0 || PyList_Append(out, b) < 0)
            Py_CLEAR(out);
        Py_XDECREF(a);
        Py_XDECREF(b);
        last_line = line, last_number = number, length++;
    }
    if (out && length < run && PyList_SetSlice(out, begun, PyList_GET_SIZE(out), NULL) < 0)
        Py_CLEAR(out);
    return out;
}

static Py_ssize_t line_end(const uint32_t *buf, Py_ssize_t from, Py_ssize_t n)
{
    while (from < n && buf[from] != '\n')
        from++;
    return from;
}

/* Drops the fence lines starting at fences[0, count) (ascending) but their newlines; the new length. */
static Py_ssize_t drop_fence_lines(uint32_t *buf, Py_ssize_t n, const Py_ssize_t *fences, Py_ssize_t count)
{
    Py_ssize_t w = 0, r = 0; /* written, and read up to */
    for (Py_ssize_t i = 0; i <= count; i++) {
        Py_ssize_t start = i < count ? fences[i] : n;
        if (start < r)
            continue; /* inside the fence line before: not a line start */
        memmove(buf + w, buf + r, (size_t)(start - r) * sizeof *buf);
        w += start - r;
        r = i < count ? line_end(buf, start, n) : n;
    }
    return w;
}

/* ---- the syntax of one language: which marks open comments and strings ------------------ */

/* Bits of Params.syntax; the Python module says which a language has, and the generic lexer
   for code of no known language is a guess that agrees with each language on common code. */
enum {
    HASH_COMMENT = 1 << 0,       /* # anywhere outside a string (Python, Ruby, PHP, Terraform) */
    HASH_WORD_COMMENT = 1 << 1,  /* # at the start of a word (shell: $# and a#b are no comments) */
    HASH_SPACE_COMMENT = 1 << 2, /* # at the start of a word, not before a word (#include, this.#field) */
    SLASH_COMMENTS = 1 << 3,     /* // and slash-star comments */
    BLOCK_COMMENTS = 1 << 4,     /* slash-star comments only (SQL) */
    DASH_COMMENT = 1 << 5,       /* -- (SQL) */
    DASH_SPACE_COMMENT = 1 << 6, /* "-- " at the start of a word */
    BACKTICK_STRINGS = 1 << 7,
    TRIPLE_QUOTES = 1 << 8,
    RUST_QUOTES = 1 << 9,        /* 'a is a lifetime; only 'x' and '\n' are characters */
};

typedef struct {
    int exhausted[4];          /* no more closing * /, """, ''' or ` from here on */
    Py_ssize_t line_fails[2];  /* a "..." or '...' opened before this position cannot close */
} Memo;

enum { BLOCK_END, TRIPLE_DQ, TRIPLE_SQ, BACKTICK };

/* The first position >= from where len copies of c (or "*" "/" for BLOCK_END) start; -1 if none. */
static Py_ssize_t find_closing(const uint32_t *buf, Py_ssize_t from, Py_ssize_t n, int which, Memo *memo)
{
    if (memo->exhausted[which])
        return -1;
    uint32_t mark = which == BLOCK_END ? '*' : which == BACKTICK ? '`' : which == TRIPLE_DQ ? '"' : '\'';
    uint32_t escape = which == BLOCK_END ? mark : '\\'; /* a comment escapes nothing */
    for (Py_ssize_t j = from; j < n; j++) {
        while (j < n && buf[j] != mark && buf[j] != escape) /* most of a docstring or a comment */
            j++;
        if (j < n && buf[j] != mark) {
            j++; /* an escaped closer closes nothing */
            continue;
        }
        if (j < n && (which == BLOCK_END ? j + 1 < n && buf[j + 1] == '/' : which == BACKTICK || (j + 2 < n && buf[j + 1] == mark && buf[j + 2] == mark)))
            return j;
    }
    memo->exhausted[which] = 1;
    return -1;
}

static int is_word_start(const uint32_t *buf, Py_ssize_t r, Py_ssize_t from)
{
    return r == from || char_class(buf[r - 1]) == SPACE || char_class(buf[r - 1]) == NEWLINE;
}

/* The end of the comment starting at r, or -1. from: where the lexed range starts. */
static Py_ssize_t comment_end(const uint32_t *buf, Py_ssize_t from, Py_ssize_t r, Py_ssize_t n, uint32_t syntax, Memo *memo)
{
    uint32_t c = buf[r], next = r + 1 < n ? buf[r + 1] : 0, third = r + 2 < n ? buf[r + 2] : 0;
    if (c == '#' && next == '!' && (r == 0 || buf[r - 1] == '\n')) /* a shebang */
        return line_end(buf, r, n);
    if (c == '#' && next != '[') { /* #[...]: Rust and PHP attributes */
        int word_start = is_word_start(buf, r, from);
        int before_word = next != 0 && char_class(next) == WORD;
        if ((syntax & HASH_COMMENT) || (word_start && (syntax & HASH_WORD_COMMENT)) ||
            (word_start && !before_word && next != '{' && next != '(' && (syntax & HASH_SPACE_COMMENT)))
            return line_end(buf, r, n);
    }
    if (c == '/' && next == '/' && (syntax & SLASH_COMMENTS))
        return line_end(buf, r, n);
    if (c == '/' && next == '*' && (syntax & (SLASH_COMMENTS | BLOCK_COMMENTS))) {
        Py_ssize_t j = find_closing(buf, r + 2, n, BLOCK_END, memo);
        return j < 0 ? -1 : j + 2;
    }
    if (c == '-' && next == '-' &&
        ((syntax & DASH_COMMENT) || ((syntax & DASH_SPACE_COMMENT) && is_word_start(buf, r, from) && (third == ' ' || third == '\t'))))
        return line_end(buf, r, n);
    return -1;
}

/* A "..." or '...' string: escapes skip the next character (a newline too), an unescaped
   newline or the end of the text means it was no string. A scan that failed at f proves that
   every later one of the same quote starting before f fails too: a quote it passed was escaped,
   and a scan from there runs in step with it. */
static Py_ssize_t line_string_end(const uint32_t *buf, Py_ssize_t r, Py_ssize_t n, Memo *memo)
{
    uint32_t q = buf[r];
    Py_ssize_t *fails = &memo->line_fails[q == '\''];
    if (r < *fails)
        return -1;
    Py_ssize_t j = r + 1;
    while (j < n && buf[j] != q && buf[j] != '\n')
        j += buf[j] == '\\' ? 2 : 1;
    if (j < n && buf[j] == q)
        return j + 1;
    *fails = j > n ? n : j;
    return -1;
}

/* The end of the string literal starting at r, its content in [*from, *to); or -1. */
static Py_ssize_t string_end(const uint32_t *buf, Py_ssize_t r, Py_ssize_t n, uint32_t syntax, Py_ssize_t *from, Py_ssize_t *to, Memo *memo)
{
    uint32_t q = buf[r];
    if (q == '`') {
        Py_ssize_t j = (syntax & BACKTICK_STRINGS) ? find_closing(buf, r + 1, n, BACKTICK, memo) : -1;
        *from = r + 1, *to = j;
        return j < 0 ? -1 : j + 1;
    }
    if (q != '"' && q != '\'')
        return -1;
    if ((syntax & TRIPLE_QUOTES) && r + 2 < n && buf[r + 1] == q && buf[r + 2] == q) {
        Py_ssize_t j = find_closing(buf, r + 3, n, q == '"' ? TRIPLE_DQ : TRIPLE_SQ, memo);
        *from = r + 3, *to = j < 0 ? n : j; /* unclosed: a paste cut inside a docstring, whose rest is its words */
        return j < 0 ? n : j + 3;
    }
    if (q == '\'' && (syntax & RUST_QUOTES) && !(r + 1 < n && buf[r + 1] == '\\') && !(r + 2 < n && buf[r + 2] == '\''))
        return -1; /* a lifetime */
    Py_ssize_t end = line_string_end(buf, r, n, memo);
    *from = r + 1, *to = end - 1;
    return end;
}

static Py_ssize_t count_newlines(const uint32_t *buf, Py_ssize_t from, Py_ssize_t to)
{
    Py_ssize_t count = 0;
    for (Py_ssize_t i = from; i < to; i++)
        count += buf[i] == '\n';
    return count;
}

/* ---- pass 2: tokens, each a code and its line ------------------------------------------- */

/* Marks formatters add and remove at will (trailing commas, optional semicolons, redundant
   parentheses, line continuations): no tokens, so a reformatted paste keeps its k-grams. */
static int formatter_noise(uint32_t c) { return c == ',' || c == ';' || c == '(' || c == ')' || c == '\\'; }

/* Words that open an import (or package) statement at the start of a line. Imports are
   boilerplate that tools reorder: they leave no tokens. */
enum { IMPORT, FROM, PACKAGE, USE, USING, REQUIRE, REQUIRE_RELATIVE, INCLUDE, VAR, STATEMENT_WORDS };
static const char *const statement_words[STATEMENT_WORDS] = {"import", "from", "package", "use", "using", "require", "require_relative", "include", "var"};
static uint64_t statement_hash[STATEMENT_WORDS];

static uint64_t word_hash(const uint32_t *buf, Py_ssize_t from, Py_ssize_t to)
{
    uint64_t h = FNV_OFFSET;
    for (Py_ssize_t i = from; i < to; i++)
        h = (h ^ buf[i]) * FNV_PRIME;
    return h;
}

static Py_ssize_t word_end(const uint32_t *buf, Py_ssize_t r, Py_ssize_t n)
{
    while (r < n && char_class(buf[r]) == WORD)
        r++;
    return r;
}

/* word_end, and the word's hash into *h, in one pass. */
static Py_ssize_t hashed_word_end(const uint32_t *buf, Py_ssize_t r, Py_ssize_t n, uint64_t *h)
{
    uint64_t hash = FNV_OFFSET;
    for (; r < n && char_class(buf[r]) == WORD; r++)
        hash = (hash ^ buf[r]) * FNV_PRIME;
    *h = hash;
    return r;
}

static Py_ssize_t skip_spaces(const uint32_t *buf, Py_ssize_t r, Py_ssize_t n)
{
    while (r < n && char_class(buf[r]) == SPACE)
        r++;
    return r;
}

/* Whether the word "import" follows on the line from r (Python's from ... import ...). */
static int import_follows(const uint32_t *buf, Py_ssize_t r, Py_ssize_t n)
{
    for (Py_ssize_t end = line_end(buf, r, n); r < end; r++)
        if (char_class(buf[r]) == WORD && (r == 0 || char_class(buf[r - 1]) != WORD)) {
            Py_ssize_t e = word_end(buf, r, end);
            if (word_hash(buf, r, e) == statement_hash[IMPORT])
                return 1;
            r = e;
        }
    return 0;
}

/* Whether the word [r, e) of hash h at the start of a line opens an import statement. */
static int opens_import(const uint32_t *buf, Py_ssize_t e, uint64_t h, Py_ssize_t n)
{
    Py_ssize_t a = skip_spaces(buf, e, n);
    uint32_t next = a < n ? buf[a] : 0;
    int word = next && char_class(next) == WORD, quote = next == '"' || next == '\'';
    if (h == statement_hash[IMPORT])
        return word || quote || next == '{' || next == '*' || (next == '(' && a > e);
    if (h == statement_hash[FROM])
        return (word || next == '.') && import_follows(buf, a, n);
    if (h == statement_hash[PACKAGE] || h == statement_hash[USE])
        return word && a > e;
    if (h == statement_hash[USING])
        return word && a > e && word_hash(buf, a, word_end(buf, a, n)) != statement_hash[VAR];
    if (h == statement_hash[REQUIRE] || h == statement_hash[REQUIRE_RELATIVE])
        return quote || (next == '(' && a + 1 < n && (buf[a + 1] == '"' || buf[a + 1] == '\''));
    return 0;
}

/* The end of the statement from r: the first newline outside brackets (at most 64 lines on). */
static Py_ssize_t statement_end(const uint32_t *buf, Py_ssize_t r, Py_ssize_t n)
{
    int depth = 0, lines = 0;
    for (; r < n; r++) {
        uint32_t c = buf[r];
        depth += (c == '(' || c == '[' || c == '{') - (c == ')' || c == ']' || c == '}');
        if (c == '\n' && (depth <= 0 || ++lines >= 64))
            break;
    }
    return r;
}

/* #include and #import lines */
static int is_include(const uint32_t *buf, Py_ssize_t r, Py_ssize_t n)
{
    Py_ssize_t a = skip_spaces(buf, r + 1, n), e = word_end(buf, a, n);
    uint64_t h = word_hash(buf, a, e);
    return e > a && (h == statement_hash[INCLUDE] || h == statement_hash[IMPORT]);
}

/* String prefixes (r, b, u, f, rb, u8, L, $...): they leave no token; f and $ mean {...} interpolates. */
static int string_prefix(const uint32_t *buf, Py_ssize_t from, Py_ssize_t to, int *braces)
{
    if (to - from > 3)
        return 0;
    *braces = 0;
    for (Py_ssize_t i = from; i < to; i++) {
        uint32_t c = buf[i];
        if (!strchr("rRbBuUfFlL8$", (int)(c < 128 ? c : 'x')) || c == 0)
            return 0;
        *braces |= c == 'f' || c == 'F' || c == '$';
    }
    return 1;
}

/* Where a word was last seen: its slot in a table of LAST_USES, picked by its hash, is written at
   each of its uses, so a slot holding a word's hash holds its last use. */
typedef struct {
    uint64_t hash;
    Py_ssize_t word, token; /* its number among the words, and its token */
} LastUse;

typedef struct {
    const uint32_t *buf;
    const Params *p;
    Tokens *t;
    uint64_t recent[RECENT]; /* the last words' hashes, a ring */
    Py_ssize_t recent_at[RECENT]; /* and their tokens */
    LastUse last_use[LAST_USES];
    Py_ssize_t words;
    int32_t line;
    int line_start; /* no token yet on this line */
} Lexer;

static void emit(Lexer *L, uint32_t code, uint64_t spelling, int32_t line)
{
    L->t->codes[L->t->count] = code;
    L->t->spelling[L->t->count] = spelling;
    L->t->prev[L->t->count] = -1;
    L->t->roles[L->t->count] = OTHER;
    L->t->lines[L->t->count++] = line;
    L->line_start = 0;
}

/* A string's or number's code, telling if chars (its characters, whitespace aside) are enough. */
static void emit_literal(Lexer *L, uint32_t code, uint64_t spelling, int32_t line, Py_ssize_t chars)
{
    emit(L, code, spelling, line);
    L->t->roles[L->t->count - 1] = chars >= TELLING_CHARS ? TELLING : OTHER;
}

/* The word with hash h, or the empty slot where it would go. */
static Keyword *word_slot(const Words *words, uint64_t h)
{
    for (uint64_t i = (h ^ (h >> 29)) & words->mask;; i = (i + 1) & words->mask)
        if (words->slots[i].rank < 0 || words->slots[i].hash == h)
            return &words->slots[i];
}

/* The hash of a word in lower case (ASCII), as reserved words are looked up. */
static uint64_t folded_hash(const uint32_t *buf, Py_ssize_t from, Py_ssize_t to)
{
    uint64_t h = FNV_OFFSET;
    for (Py_ssize_t i = from; i < to; i++)
        h = (h ^ (buf[i] >= 'A' && buf[i] <= 'Z' ? buf[i] + 32 : buf[i])) * FNV_PRIME;
    return h;
}

static LastUse *last_use_slot(Lexer *L, uint64_t h) { return &L->last_use[(h ^ (h >> 32)) & (LAST_USES - 1)]; }

/* The token of the nearest earlier use of the identifier of hash h within cap words, or -1, and
   its code (from the distance) into *code. The slot of its hash tells at once, but when another
   word took the slot within the last cap words: then the last words are compared, with no
   branch per word. */
static Py_ssize_t previous_use(Lexer *L, uint64_t h, uint32_t *code)
{
    const Params *p = L->p;
    Py_ssize_t words = L->words, last = p->cap < words ? p->cap : words, back = 0;
    const LastUse *use = last_use_slot(L, h);
    if (words - use->word > last)
        return -1; /* the slot's word, and so this one, was last seen beyond reach (or never) */
    if (use->hash == h)
        back = words - use->word;
    else {
        uint64_t same = 0; /* a bit for each of the last words spelled alike */
        for (Py_ssize_t b = 1; b <= last; b++)
            same |= (uint64_t)(L->recent[(words - b) & (RECENT - 1)] == h) << b;
        if (!same)
            return -1;
        back = __builtin_ctzll(same); /* the nearest */
    }
    *code = KEYWORD_BASE + (uint32_t)(p->keywords.count + back);
    return L->recent_at[(words - back) & (RECENT - 1)];
}

/* The code of the word of the language's grammar of the given rank: after the identifiers' codes. */
static uint32_t grammar_code(const Params *p, int32_t rank) { return KEYWORD_BASE + (uint32_t)(p->keywords.count + p->cap + 1 + rank); }

/* The word buf[from, to), of hash h, as a token. A word of the language's grammar (SQL's, in
   any case) has a code of its own, looked up before the shared keywords (SQL's "AS" and "as" are
   one word), and is spelled in lower case: renaming leaves it. The language's other reserved
   words are identifiers to the shape. */
static void emit_word(Lexer *L, Py_ssize_t from, Py_ssize_t to, uint64_t h)
{
    const Params *p = L->p;
    uint64_t folded = p->reserved.count ? folded_hash(L->buf, from, to) : h;
    int32_t reserved = p->reserved.count ? word_slot(&p->reserved, folded)->rank : -1, grammar = reserved < p->own ? reserved : -1;
    int32_t rank = grammar < 0 ? word_slot(&p->keywords, h)->rank : -1;
    uint32_t code = KEYWORD_BASE + (uint32_t)p->keywords.count;
    Py_ssize_t prev = -1;
    if (grammar >= 0)
        code = grammar_code(p, grammar);
    else if (rank >= 0)
        code = KEYWORD_BASE + (uint32_t)rank;
    else
        prev = previous_use(L, h, &code);
    *last_use_slot(L, h) = (LastUse){h, L->words, L->t->count};
    L->recent_at[L->words & (RECENT - 1)] = L->t->count;
    L->recent[L->words++ & (RECENT - 1)] = h;
    emit(L, code, grammar >= 0 ? folded : h, L->line);
    L->t->prev[L->t->count - 1] = (int32_t)prev;
    if (rank < 0)
        L->t->roles[L->t->count - 1] = reserved >= 0 ? RESERVED : NAME;
}

/* The end of a number from r: digits, letters (0x1f, 10L), fractions, signed exponents. */
static Py_ssize_t number_end(const uint32_t *buf, Py_ssize_t r, Py_ssize_t n)
{
    for (;;) {
        r = word_end(buf, r, n);
        uint32_t last = buf[r - 1];
        if (r + 1 < n && buf[r] == '.' && buf[r + 1] >= '0' && buf[r + 1] <= '9')
            r++;
        else if (r + 1 < n && (buf[r] == '+' || buf[r] == '-') && (last == 'e' || last == 'E') && buf[r + 1] >= '0' && buf[r + 1] <= '9')
            r++;
        else
            return r;
    }
}

/* A number as written, as formatters leave it alike: in any case, without digit separators or
   an exponent's +, and a decimal fraction without leading or trailing zeros (0.50 is .5). */
static uint64_t number_spelling(const uint32_t *buf, Py_ssize_t from, Py_ssize_t to)
{
    Py_ssize_t point = -1, exponent = -1;
    int radix = to - from > 1 && buf[from] == '0' && strchr("xXbBoO", (int)(buf[from + 1] < 128 ? buf[from + 1] : ' '));
    for (Py_ssize_t i = from; i < to && !radix; i++) {
        point = buf[i] == '.' && point < 0 ? i : point;
        exponent = (buf[i] == 'e' || buf[i] == 'E') && exponent < 0 ? i : exponent;
    }
    Py_ssize_t mantissa_end = exponent < 0 ? to : exponent, end = mantissa_end;
    if (point >= 0) {
        while (from < point && buf[from] == '0')
            from++;
        while (end > point + 1 && buf[end - 1] == '0')
            end--;
    }
    uint64_t h = FNV_OFFSET ^ NUMBER;
    for (Py_ssize_t i = from; i < to; i++) {
        int trailing_zero = i >= end && i < mantissa_end, bare_point = i == point && end == point + 1;
        if (!trailing_zero && !bare_point && buf[i] != '_' && buf[i] != '\'' && buf[i] != '+')
            h = (h ^ (buf[i] >= 'A' && buf[i] <= 'Z' ? buf[i] + 32 : buf[i])) * FNV_PRIME;
    }
    return h;
}

static void lex_range(Lexer *L, Py_ssize_t r, Py_ssize_t n, int nested);

/* Room for room words of prose in t, in a scratch block; -1 when out of memory. */
static int prose_room(Tokens *t, size_t room)
{
    char *block = scratch(PROSE_BLOCK, room * (sizeof *t->prose.words + sizeof *t->prose.lines + sizeof *t->prose.at));
    if (!block)
        return -1;
    t->prose.words = (uint64_t *)block;
    t->prose.lines = (int32_t *)(t->prose.words + room);
    t->prose.at = t->prose.lines + room;
    t->prose.count = 0;
    t->prose.capacity = (Py_ssize_t)room;
    return 0;
}

/* A word of prose, kept if there is room: a text has room for all of its words, which only
   characters lexed twice (a comment inside an interpolation inside a docstring) could exceed. */
static void put_word(Prose *prose, uint64_t word, int32_t line, int32_t at)
{
    if (prose->count == prose->capacity)
        return;
    prose->words[prose->count] = word;
    prose->lines[prose->count] = line;
    prose->at[prose->count++] = at;
}

/* The words of a comment or docstring buf[from, to) starting on line, as prose: in lower case,
   without punctuation, comment marks or line breaks, so a re-wrapped or re-marked comment
   reads alike. */
static void lex_prose(Lexer *L, Py_ssize_t from, Py_ssize_t to, int32_t line)
{
    if (!L->p->k_prose)
        return;
    const uint32_t *buf = L->buf;
    for (Py_ssize_t i = from; i < to;) {
        uint32_t c = buf[i++];
        if (char_class(c) != WORD) {
            line += c == '\n';
            continue;
        }
        uint64_t h = (FNV_OFFSET ^ (c >= 'A' && c <= 'Z' ? c + 32 : c)) * FNV_PRIME;
        for (; i < to && char_class(buf[i]) == WORD; i++)
            h = (h ^ (buf[i] >= 'A' && buf[i] <= 'Z' ? buf[i] + 32 : buf[i])) * FNV_PRIME;
        put_word(&L->t->prose, h, line, (int32_t)L->t->count); /* as folded_hash would hash it */
    }
}

/* The matching } of an interpolation opened before from, within to; -1 if none. */
static Py_ssize_t closing_brace(const uint32_t *buf, Py_ssize_t from, Py_ssize_t to)
{
    int depth = 1;
    uint32_t quote = 0;
    for (Py_ssize_t i = from; i < to; i++) {
        uint32_t c = buf[i];
        if (quote)
            quote = c == quote ? 0 : quote;
        else if (c == '"' || c == '\'' || c == '`')
            quote = c;
        else if (c == '{')
            depth++;
        else if (c == '}' && !--depth)
            return i;
    }
    return -1;
}

/* A string's content [from, to): its literal parts become STRINGS codes, hashed without
   whitespace (re-indented docstrings, re-wrapped text) and without the escapes of quotes (a
   formatter that swaps quote styles changes those); interpolated code (${...}, #{...}, $name,
   and with braces {...}) is lexed as code, so a rename inside it changes no literal part. Read
   so in any quotes, those that interpolate and those that do not: formatters swap them (black
   and prettier write "..." for '...'), and a string must lex alike in either. */
static void lex_string(Lexer *L, Py_ssize_t from, Py_ssize_t to, int braces, int nested)
{
    const uint32_t *buf = L->buf;
    uint64_t h = FNV_OFFSET;
    Py_ssize_t chars = 0; /* hashed into h */
    int32_t line = L->line, part_line = line; /* line kept here, not in L, while the characters go by */
    for (Py_ssize_t i = from; i < to;) {
        for (uint32_t c; i < to && !(c = buf[i], c < 128 && string_marks[c]); i++) { /* most characters: no branch on them */
            uint64_t hashed = (h ^ c) * FNV_PRIME;
            int kept = char_class(c) != SPACE && c != '\n';
            h = kept ? hashed : h;
            chars += kept;
            line += c == '\n';
        }
        if (i == to)
            break;
        uint32_t c = buf[i], next = i + 1 < to ? buf[i + 1] : 0;
        Py_ssize_t code_from = -1, code_to = -1, resume = -1;
        if (c == '\\' && next) {
            if (next != '"' && next != '\'' && next != '`')
                h = (h ^ c) * FNV_PRIME, chars++;
            if (char_class(next) != SPACE && next != '\n')
                h = (h ^ next) * FNV_PRIME, chars++;
            line += next == '\n';
            i += 2;
            continue;
        }
        if (!nested && (c == '$' || c == '#') && next == '{')
            code_from = i + 2;
        else if (!nested && braces && c == '{' && next != '{')
            code_from = i + 1;
        else if (!nested && c == '$' && next && char_class(next) == WORD && !(next >= '0' && next <= '9'))
            code_from = i + 1, code_to = resume = word_end(buf, i + 1, to);
        if (code_from >= 0 && code_to < 0) {
            code_to = closing_brace(buf, code_from, to);
            resume = code_to + 1;
        }
        if (code_to >= 0) {
            emit_literal(L, STRINGS + (uint32_t)(mix(h) % STRING_BUCKETS), h, part_line, chars);
            L->line = line;
            lex_range(L, code_from, code_to, 1);
            h = FNV_OFFSET, chars = 0, line = part_line = L->line, i = resume;
            continue;
        }
        if (braces && (c == '{' || c == '}') && next == c)
            i++; /* {{ and }} are one literal brace */
        if (char_class(c) != SPACE && c != '\n')
            h = (h ^ c) * FNV_PRIME, chars++;
        line += c == '\n';
        i++;
    }
    L->line = line;
    emit_literal(L, STRINGS + (uint32_t)(mix(h) % STRING_BUCKETS), h, part_line, chars);
}

/* Tokens of buf[r, n) into L. nested: inside an interpolation, whose strings do not interpolate. */
static void lex_range(Lexer *L, Py_ssize_t r, Py_ssize_t n, int nested)
{
    const uint32_t *buf = L->buf;
    uint32_t syntax = L->p->syntax;
    Memo memo = {{0}, {0, 0}};
    Py_ssize_t start = r, end, from = 0, to = 0;
    while (r < n) {
        uint32_t c = buf[r];
        int kind = char_class(c);
        if (kind == NEWLINE || kind == SPACE) { /* a run of them: indentation, blank lines */
            int32_t newlines = 0;
            for (; r < n && ((kind = char_class(buf[r])) == SPACE || kind == NEWLINE); r++)
                newlines += kind == NEWLINE;
            L->line += newlines;
            L->line_start |= newlines > 0;
            continue;
        }
        if (c == '#' && L->line_start && is_include(buf, r, n)) {
            r = line_end(buf, r, n);
            continue;
        }
        if (kind == OPENER && (end = comment_end(buf, start, r, n, syntax, &memo)) > r) {
            lex_prose(L, r, end, L->line);
            L->line += (int32_t)count_newlines(buf, r, end);
            r = end;
            continue;
        }
        int braces = 0;
        Py_ssize_t quote = r;
        if (kind == WORD && !(c >= '0' && c <= '9')) {
            uint64_t h;
            Py_ssize_t e = hashed_word_end(buf, r, n, &h);
            if (L->line_start && opens_import(buf, e, h, n)) {
                end = statement_end(buf, r, n);
                L->line += (int32_t)count_newlines(buf, r, end); /* a bracketed import's own lines */
                r = end;
                continue;
            }
            if (e < n && (buf[e] == '"' || buf[e] == '\'') && string_prefix(buf, r, e, &braces))
                quote = e;
            else {
                emit_word(L, r, e, h);
                r = e;
                continue;
            }
        }
        if (c == '\\' && r + 1 < n && (buf[r + 1] == '"' || buf[r + 1] == '\'' || buf[r + 1] == '`')) {
            r += 2; /* an escaped quote outside a string (shell's \" and \`) opens none */
            continue;
        }
        if (c == '@' && r + 1 < n && buf[r + 1] == '"') /* C#'s verbatim strings */
            quote = r + 1;
        if ((end = string_end(buf, quote, n, syntax, &from, &to, &memo)) > quote) {
            if (from == quote + 3 && buf[quote] != '`') /* a docstring */
                lex_prose(L, from, to, L->line);
            lex_string(L, from, to, braces, nested);
            r = end;
            continue;
        }
        if (quote != r) { /* a prefix-like word before a quote that opens no string */
            emit_word(L, r, quote, word_hash(buf, r, quote));
            r = quote;
            continue;
        }
        int fraction = c == '.' && r + 1 < n && buf[r + 1] >= '0' && buf[r + 1] <= '9' && (r == start || (char_class(buf[r - 1]) != WORD && buf[r - 1] != ')' && buf[r - 1] != ']'));
        if ((c >= '0' && c <= '9') || fraction) {
            end = number_end(buf, r + fraction, n);
            uint64_t spelling = number_spelling(buf, r, end);
            emit_literal(L, NUMBER + (uint32_t)(mix(spelling) % NUMBER_BUCKETS), spelling, L->line, end - r);
            r = end;
            continue;
        }
        if (!formatter_noise(c))
            emit(L, c, c, L->line);
        r++;
    }
}

static void tokenise(const uint32_t *buf, Py_ssize_t n, const Params *p, Tokens *t)
{
    Lexer L = {.buf = buf, .p = p, .t = t, .line = 1, .line_start = 1};
    for (int i = 0; i < LAST_USES; i++)
        L.last_use[i].word = -RECENT; /* never seen */
    t->count = 0;
    lex_range(&L, 0, n, 0);
}

/* ---- pass 3: winnowing, the rightmost smallest k-gram hash of every window of w ----------- */

enum { SHAPE, SPELLED, PROSE, KINDS };

/* A fingerprint's hash with its kind in the lowest bits, so an index tells the kinds apart:
   the lowest clear for the shape (the next one set when its k-gram holds literals: see
   shape_hashes), the two lowest 01 as written and 11 for prose. */
static uint64_t tagged(uint64_t hash, int kind)
{
    return kind == SHAPE ? hash & ~1ull : (hash & ~3ull) | (kind == PROSE ? 3 : 1);
}

/* Room for capacity fingerprints (as many as windows: no more can be kept) in a scratch block;
   -1 when out of memory. */
static int alloc_prints(Prints *p, Py_ssize_t capacity, int use)
{
    size_t n = (size_t)capacity + 1;
    char *block = scratch(use, n * (sizeof *p->hashes + sizeof *p->lines + sizeof *p->end_lines + sizeof *p->at));
    if (!block)
        return -1;
    p->hashes = (uint64_t *)block;
    p->lines = (int32_t *)(block + n * sizeof *p->hashes);
    p->end_lines = p->lines + n;
    p->at = p->end_lines + n;
    p->count = 0;
    return 0;
}

static void put_print(Prints *out, uint64_t hash, int32_t line, int32_t end_line, int32_t at)
{
    out->hashes[out->count] = hash;
    out->lines[out->count] = line;
    out->at[out->count] = at;
    out->end_lines[out->count++] = end_line;
}

/* The code of token j in the k-gram starting at token s: an identifier whose previous use
   lies before s counts as a first use. So a k-gram's hash depends on its own tokens only, and
   a paste's k-grams hash as in the file it came from, however it starts. */
static uint32_t code_at(const Tokens *t, Py_ssize_t j, Py_ssize_t s, uint32_t first_use)
{
    return t->prev[j] < 0 || t->prev[j] >= s ? t->codes[j] : first_use;
}

/* Whether a code is no word: punctuation, a string or a number. A k-gram of words alone is
   prose (licence texts, documentation) far more often than code, and prose is alike everywhere:
   it is not fingerprinted. */
static int no_word(uint32_t code) { return code < KEYWORD_BASE; }

/* What a k-gram holds: tokens that are no words, names and reserved words. */
typedef struct {
    Py_ssize_t others, names, reserved;
} Census;

static void count_token(Census *c, const Tokens *t, Py_ssize_t j, int sign)
{
    c->others += sign * no_word(t->codes[j]);
    c->names += sign * (t->roles[j] == NAME);
    c->reserved += sign * (t->roles[j] == RESERVED);
}

/* Whether a k-gram is fingerprinted: not prose, and not the language's own words around
   punctuation and literals with no name among them (SQL's declarations: "RETURNS internal AS
   'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT" in every extension). */
static int is_code(const Census *c) { return c->others && (c->names || !c->reserved); }

/* Whether a k-gram is names among the language's own words alone (SQL's "ALTER FUNCTION f(text,
   int4) PARALLEL SAFE" runs, whose punctuation makes no token): code, not prose. Fingerprinted
   as written, which a copy shares; of the shape only where the grammar has codes of its own,
   since its words as identifiers leave only their distances, alike in every such run. */
static int is_words_of_code(const Census *c) { return c->names && c->reserved; }

/* The rightmost smallest of every window of w hashes (hash[i]: of the k-gram from token i, k
   tokens long, or UINT64_MAX if never kept), each once, into out (room for n) as fingerprints
   of kind, the kind in the hash's lowest bits (tagged). The smallest of the
   window is searched for again only when it leaves the window. */
static void select_smallest(const uint64_t *hash, Py_ssize_t n, Py_ssize_t w, Py_ssize_t k, int kind, const Tokens *t, Prints *out)
{
    Py_ssize_t window = w < n ? w : n, smallest = 0, chosen = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (smallest <= i - window) {
            smallest = i - window + 1;
            for (Py_ssize_t j = smallest + 1; j <= i; j++)
                smallest = hash[j] <= hash[smallest] ? j : smallest; /* ties go to the rightmost */
        }
        else if (hash[i] <= hash[smallest])
            smallest = i;
        if (i >= window - 1 && smallest != chosen && hash[smallest] != UINT64_MAX) {
            chosen = smallest;
            put_print(out, tagged(hash[chosen], kind), t->lines[chosen], t->lines[chosen + k - 1], (int32_t)chosen);
        }
    }
}

/* A k-gram of the shape that holds this many telling literals (strings, numbers) is marked:
   renaming leaves literals as they were, and one shape with two of them is rarely another
   file's, where a shape of names and punctuation alone is everyone's (a run of getters, an
   enum list). */
enum { SHAPE_LITERALS = 2 };

/* The hash of each k-gram of codes (an identifier's code relative to the k-gram's start), its
   second lowest bit set when it holds SHAPE_LITERALS telling literals, or UINT64_MAX for prose, into
   hash[0, count - k + 1); next: room for count tokens. */
static int shape_hashes(const Tokens *t, const Params *p, uint64_t *hash, int32_t *next)
{
    Py_ssize_t n = t->count - p->k + 1, k = p->k, codes = grammar_code(p, (int32_t)p->own);
    uint32_t first_use = KEYWORD_BASE + (uint32_t)p->keywords.count;
    uint64_t *value = PyMem_RawMalloc((size_t)codes * sizeof *value), *power = PyMem_RawMalloc((size_t)k * sizeof *power);
    int status = value && power ? 0 : -1; /* next: the next use of an identifier, -1 if none */
    if (status == 0) {
        for (Py_ssize_t c = 0; c < codes; c++)
            value[c] = mix(p->seed + (uint64_t)c);
        for (Py_ssize_t j = 0; j < k; j++)
            power[j] = j ? power[j - 1] * KGRAM_BASE : 1;
        for (Py_ssize_t j = 0; j < t->count; j++)
            next[j] = -1;
        for (Py_ssize_t j = 0; j < t->count; j++)
            if (t->prev[j] >= 0)
                next[t->prev[j]] = (int32_t)j;
        uint64_t h = 0;
        Census census = {0, 0, 0};
        Py_ssize_t literals = 0; /* telling ones */
        for (Py_ssize_t j = 0; j < k; j++) {
            h = h * KGRAM_BASE + value[t->codes[j]];
            count_token(&census, t, j, 1);
            literals += t->roles[j] == TELLING;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            if (i) { /* token i - 1 leaves; its next use, if inside, becomes a first use */
                Py_ssize_t gone = i - 1, m = next[gone];
                h -= value[code_at(t, gone, gone, first_use)] * power[k - 1];
                if (m >= 0 && m < gone + k)
                    h += (value[first_use] - value[t->codes[m]]) * power[gone + k - 1 - m];
                h = h * KGRAM_BASE + value[code_at(t, i + k - 1, i, first_use)];
                count_token(&census, t, i + k - 1, 1);
                count_token(&census, t, gone, -1);
                literals += (t->roles[i + k - 1] == TELLING) - (t->roles[gone] == TELLING);
            }
            /* never the smallest, never kept; else the literals' mark in the second lowest bit */
            int kept = is_code(&census) || (p->own && is_words_of_code(&census));
            hash[i] = kept ? (h & ~2ull) | (uint64_t)(literals >= SHAPE_LITERALS) << 1 : UINT64_MAX;
        }
    }
    PyMem_RawFree(value);
    PyMem_RawFree(power);
    return status;
}

/* The hash of each k-gram of tokens as written (names, strings and numbers spelled out), or
   UINT64_MAX for prose, into hash[0, count - k + 1). */
static void spelled_hashes(const Tokens *t, Py_ssize_t k, uint64_t seed, uint64_t *hash)
{
    uint64_t h = 0, top = 1;
    Census census = {0, 0, 0};
    for (Py_ssize_t j = 1; j < k; j++)
        top *= KGRAM_BASE;
    for (Py_ssize_t j = 0; j < t->count; j++) {
        if (j >= k) {
            h -= mix(t->spelling[j - k] ^ ~seed) * top;
            count_token(&census, t, j - k, -1);
        }
        h = h * KGRAM_BASE + mix(t->spelling[j] ^ ~seed);
        count_token(&census, t, j, 1);
        if (j >= k - 1)
            hash[j - k + 1] = is_code(&census) || is_words_of_code(&census) ? h : UINT64_MAX;
    }
}

/* The hash of each k-gram of prose words into hash[0, count - k + 1); the seed keeps them
   apart from k-grams of code. */
static void prose_hashes(const Prose *prose, Py_ssize_t k, uint64_t seed, uint64_t *hash)
{
    uint64_t h = 0, top = 1, value[MAX_PROSE_K]; /* the last k words' values, a ring */
    for (Py_ssize_t j = 1; j < k; j++)
        top *= KGRAM_BASE;
    for (Py_ssize_t j = 0; j < prose->count; j++) {
        if (j >= k)
            h -= value[j % k] * top;
        value[j % k] = mix(prose->words[j] ^ seed);
        h = h * KGRAM_BASE + value[j % k];
        if (j >= k - 1)
            hash[j - k + 1] = h;
    }
}

/* Fingerprints of the prose into out (a scratch block), winnowed as the code's, each at the
   code token after its k-gram's first word; hash: room for the words. -1 when out of memory. */
static int winnow_prose(const Prose *prose, const Params *p, uint64_t *hash, Prints *out)
{
    Py_ssize_t grams = p->k_prose && prose->count >= p->k_prose ? prose->count - p->k_prose + 1 : 0;
    if (alloc_prints(out, grams, PROSE_PRINTS_BLOCK))
        return -1;
    if (!grams)
        return 0;
    prose_hashes(prose, p->k_prose, mix(p->seed ^ PROSE_SEED), hash);
    Tokens words = {.lines = prose->lines, .count = prose->count};
    select_smallest(hash, grams, p->w, p->k_prose, PROSE, &words, out);
    for (Py_ssize_t i = 0; i < out->count; i++)
        out->at[i] = prose->at[out->at[i]];
    return 0;
}

/* The fingerprints of each kind (each along the text) into out, along the text; at one token,
   the prose's first (its lines come first), then the shape's. shapes: how many of the shape
   there are up to each (with it), so that runs of them are told from hits here and there. The heads of the three kinds are
   kept in locals and the next one picked without a branch on the data: the 40k fingerprints of
   256 KB of code, picked through their structs, took 0.4 ms. */
static void merge_along(const Prints kinds[KINDS], Prints *out, int32_t *shapes)
{
    const Prints *part[KINDS] = {&kinds[PROSE], &kinds[SHAPE], &kinds[SPELLED]}; /* in the order of a tie */
    Py_ssize_t next[KINDS] = {0, 0, 0}, total = part[0]->count + part[1]->count + part[2]->count;
    int64_t head[KINDS]; /* each kind's next token, or past every token when done */
    for (int q = 0; q < KINDS; q++)
        head[q] = part[q]->count ? part[q]->at[0] : INT64_MAX;
    for (Py_ssize_t o = 0; o < total; o++) {
        int q = head[0] <= head[1] && head[0] <= head[2] ? 0 : head[1] <= head[2] ? 1 : 2;
        const Prints *from = part[q];
        Py_ssize_t x = next[q]++;
        out->hashes[o] = from->hashes[x];
        out->lines[o] = from->lines[x];
        out->end_lines[o] = from->end_lines[x];
        out->at[o] = from->at[x];
        shapes[o] = (int32_t)next[1]; /* part[1]: the shape's, taken so far */
        head[q] = x + 1 < from->count ? from->at[x + 1] : INT64_MAX;
    }
    out->count = total;
}

/* Fingerprints of each kind apart, along the text, in scratch blocks: of the shape (k tokens),
   as written (k_spelled tokens) and of prose (k_prose words); -1 when out of memory. */
static int winnow(const Tokens *t, const Params *p, Prints kinds[KINDS])
{
    Py_ssize_t shapes = t->count >= p->k ? t->count - p->k + 1 : 0, spellings = t->count >= p->k_spelled ? t->count - p->k_spelled + 1 : 0;
    size_t slots = (size_t)(t->count > t->prose.count ? t->count : t->prose.count) + 1;
    uint64_t *hash = scratch(HASH_BLOCK, slots * (sizeof *hash + sizeof(int32_t)));
    int status = hash && alloc_prints(&kinds[SHAPE], shapes, SHAPE_BLOCK) == 0 && alloc_prints(&kinds[SPELLED], spellings, SPELLED_BLOCK) == 0 ? 0 : -1;
    if (status == 0 && shapes && (status = shape_hashes(t, p, hash, (int32_t *)(hash + slots))) == 0)
        select_smallest(hash, shapes, p->w, p->k, SHAPE, t, &kinds[SHAPE]);
    if (status == 0 && spellings) {
        spelled_hashes(t, p->k_spelled, p->seed, hash);
        select_smallest(hash, spellings, p->w, p->k_spelled, SPELLED, t, &kinds[SPELLED]);
    }
    if (status == 0)
        status = winnow_prose(&t->prose, p, hash, &kinds[PROSE]);
    return status;
}

/* ---- the index: which of a request's fingerprints it holds ------------------------------- */

/* Where each bucket of the sorted hashes starts, the buckets by the top bits of a hash:
   starts[b] is the first hash whose top bits are b or more, starts[1 << bits] the count. */
static void bucket_starts(const uint64_t *hashes, Py_ssize_t n, int bits, uint32_t *starts)
{
    Py_ssize_t i = 0;
    for (uint64_t b = 0; b < 1ull << bits; b++) {
        while (i < n && hashes[i] >> (64 - bits) < b)
            i++;
        starts[b] = (uint32_t)i;
    }
    starts[1ull << bits] = (uint32_t)n;
}

/* A filter of the index's hashes, small enough to stay in cache more than the index: each
   hash sets two bits (picked by its middle bits) of one word (picked by its top fbits), so a
   query whose two bits are not both set in its word is in no file, told by one read. At 8 to
   16 bits a hash, it lets through 1.5% to 5% of the hashes the index lacks. */
static uint64_t filter_mask(uint64_t hash) { return 1ull << ((hash >> 20) & 63) | 1ull << ((hash >> 26) & 63); }

static void fill_filter(const uint64_t *hashes, Py_ssize_t n, int fbits, uint64_t *filter)
{
    memset(filter, 0, sizeof *filter << fbits);
    for (Py_ssize_t i = 0; i < n; i++)
        filter[fbits ? hashes[i] >> (64 - fbits) : 0] |= filter_mask(hashes[i]);
}

typedef struct {
    Py_ssize_t query, first, count; /* a query and its run of equal hashes in the index */
} Hit;

/* The first of hashes[lo, hi) that is h or more, or hi. */
static Py_ssize_t lower_bound(const uint64_t *hashes, Py_ssize_t lo, Py_ssize_t hi, uint64_t h)
{
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (hashes[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Queries ahead of the one searched whose bucket is fetched into cache meanwhile (its start
   in the table AHEAD queries before its first hash): the index is tens of megabytes, and each
   search would wait for memory twice otherwise. */
enum { AHEAD = 8 }; /* 8, 12 and 16 measured: 8 fastest with the table in huge pages */

/* Queries ahead of the one tested whose filter word is fetched into cache meanwhile. */
enum { FILTER_AHEAD = 16 };

/* The queries the filter lets through, in order, into hits[].query; their number. */
static Py_ssize_t filtered(const uint64_t *filter, int fbits, const uint64_t *queries, Py_ssize_t n, Hit *hits)
{
    Py_ssize_t passed = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (fbits && i + FILTER_AHEAD < n)
            __builtin_prefetch(&filter[queries[i + FILTER_AHEAD] >> (64 - fbits)]);
        uint64_t q = queries[i], mask = filter_mask(q);
        hits[passed].query = i;
        passed += (filter[fbits ? q >> (64 - fbits) : 0] & mask) == mask; /* no branch on the outcome */
    }
    return passed;
}

/* The queries found in the index, in order, each with its run of equal hashes, into hits; their
   number. The filter is asked first; only the queries it lets through are searched for. */
static Py_ssize_t find_runs(const uint64_t *hashes, const uint32_t *starts, int bits, const uint64_t *filter, int fbits,
                            const uint64_t *queries, Py_ssize_t n, Hit *hits)
{
    int shift = 64 - bits;
    Py_ssize_t passed = filtered(filter, fbits, queries, n, hits), found = 0;
    for (Py_ssize_t j = 0; j < passed; j++) { /* hits[j].query read before hits[found <= j] is written */
        if (j + 2 * AHEAD < passed)
            __builtin_prefetch(&starts[queries[hits[j + 2 * AHEAD].query] >> shift]);
        if (j + AHEAD < passed)
            __builtin_prefetch(&hashes[starts[queries[hits[j + AHEAD].query] >> shift]]);
        Py_ssize_t i = hits[j].query;
        uint64_t q = queries[i];
        Py_ssize_t end = starts[(q >> shift) + 1], at = lower_bound(hashes, starts[q >> shift], end, q), last = at;
        while (last < end && hashes[last] == q)
            last++;
        if (last > at)
            hits[found++] = (Hit){i, at, last - at};
    }
    return found;
}

/* ---- the Python functions ------------------------------------------------------------------ */

/* A hash table of words, each ranked by its place in the tuple (folded: hashed in lower case);
   -1 with an exception set. */
static int word_table(PyObject *tuple, Words *words, int folded)
{
    Py_ssize_t count = PyTuple_GET_SIZE(tuple), slots = 16;
    while (slots < 4 * count)
        slots *= 2;
    words->slots = PyMem_Malloc((size_t)slots * sizeof *words->slots);
    if (!words->slots) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < slots; i++)
        words->slots[i].rank = -1;
    words->mask = (uint64_t)slots - 1;
    words->count = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *word = PyTuple_GET_ITEM(tuple, i);
        if (!PyUnicode_Check(word)) {
            PyErr_SetString(PyExc_TypeError, "keywords and reserved words must be tuples of str");
            return -1;
        }
        uint64_t h = FNV_OFFSET;
        for (Py_ssize_t j = 0; j < PyUnicode_GET_LENGTH(word); j++) {
            Py_UCS4 c = PyUnicode_READ_CHAR(word, j);
            h = (h ^ (folded && c >= 'A' && c <= 'Z' ? c + 32 : c)) * FNV_PRIME;
        }
        Keyword *slot = word_slot(words, h);
        if (slot->rank < 0) { /* a repeated word keeps its first rank */
            slot->hash = h;
            slot->rank = (int32_t)words->count++;
        }
    }
    return 0;
}

/* A text's code points, and where its fence lines start. */
typedef struct {
    uint32_t *buf;
    Py_ssize_t n;
    Py_ssize_t *fences, fence_count;
} Text;

/* The fence lines of a text: those given (a list of line starts, ascending), or with None
   those found; -1 with an exception set. */
static int fence_lines_of(PyObject *text, PyObject *given, Text *out)
{
    PyObject *starts = given == Py_None ? fence_line_starts(text) : PySequence_Fast(given, "fence lines must be a list of int");
    if (!starts)
        return -1;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(starts);
    out->fences = PyMem_RawMalloc((size_t)(count + 1) * sizeof *out->fences);
    int status = out->fences ? 0 : (PyErr_NoMemory(), -1);
    for (Py_ssize_t i = 0; status == 0 && i < count; i++) {
        Py_ssize_t at = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(starts, i));
        if (at == -1 && PyErr_Occurred())
            status = -1;
        else if (at < (i ? out->fences[i - 1] + 1 : 0) || at >= out->n) {
            PyErr_SetString(PyExc_ValueError, "fence lines must ascend within the text");
            status = -1;
        }
        else
            out->fences[out->fence_count++] = at;
    }
    Py_DECREF(starts);
    return status;
}

/* The text's code points (in a scratch block) and fence lines, copied while the GIL is held;
   -1 with an exception set. The caller frees the fence lines either way. */
static int code_points(PyObject *text, PyObject *fences, Text *out)
{
    out->n = PyUnicode_GET_LENGTH(text);
    if (fence_lines_of(text, fences, out) < 0)
        return -1;
    out->buf = scratch(TEXT_BLOCK, (size_t)(out->n + 1) * sizeof *out->buf);
    if (!out->buf) {
        PyErr_NoMemory();
        return -1;
    }
    return PyUnicode_AsUCS4(text, (Py_UCS4 *)out->buf, out->n + 1, 1) ? 0 : -1;
}

/* Passes 1 and 2 on text into t, in a scratch block; -1 when out of memory. Needs no GIL. */
static int text_tokens(Text *text, const Params *p, Tokens *t)
{
    Py_ssize_t n = text->n;
    size_t slots = (size_t)n + 1; /* a token takes a character at least */
    char *block = scratch(TOKENS_BLOCK, slots * (sizeof *t->spelling + sizeof *t->codes + sizeof *t->lines + sizeof *t->prev + sizeof *t->roles));
    if (!block)
        return -1;
    t->spelling = (uint64_t *)block;
    t->codes = (uint32_t *)(t->spelling + slots);
    t->lines = (int32_t *)(t->codes + slots);
    t->prev = t->lines + slots;
    t->roles = (uint8_t *)(t->prev + slots);
    if (p->k_prose && prose_room(t, (size_t)n / 2 + 1) < 0) /* a word and what ends it take two characters */
        return -1;
    if (text->fence_count)
        n = drop_fence_lines(text->buf, n, text->fences, text->fence_count);
    tokenise(text->buf, n, p, t);
    return 0;
}

/* The word tables; -1 with an exception set. The caller frees them with free_params either way. */
static int parse_params(PyObject *keywords, PyObject *reserved, Params *p)
{
    if (p->k < 1 || p->k_spelled < 1 || p->k_prose < 0 || p->k_prose > MAX_PROSE_K || p->w < 1 || p->cap < 1 || p->cap > MAX_CAP) {
        PyErr_Format(PyExc_ValueError, "need k >= 1, k_spelled >= 1, 0 <= k_prose <= %d, w >= 1 and 1 <= cap <= %d", MAX_PROSE_K, MAX_CAP);
        return -1;
    }
    if (p->own < 0 || p->own > PyTuple_GET_SIZE(reserved)) {
        PyErr_SetString(PyExc_ValueError, "need 0 <= own <= the number of reserved words");
        return -1;
    }
    return word_table(keywords, &p->keywords, 0) || word_table(reserved, &p->reserved, 1) ? -1 : 0;
}

static void free_params(Params *p)
{
    PyMem_Free(p->keywords.slots);
    PyMem_Free(p->reserved.slots);
}

static PyObject *array_bytes(const void *data, Py_ssize_t count, size_t item)
{
    return PyBytes_FromStringAndSize(count ? data : "", count * (Py_ssize_t)item);
}

/* Tokens of text into t and, with kinds, their fingerprints of each kind, the GIL released
   while the passes run; 0, or -1 with an exception set. fences: the text's fence lines, or None
   to find them. Both are in this thread's scratch blocks: the caller trims them when done. */
static int run_passes(PyObject *text, PyObject *fences, const Params *p, Tokens *t, Prints kinds[KINDS])
{
    Text points = {0};
    int status = code_points(text, fences, &points);
    if (status == 0) {
        Py_BEGIN_ALLOW_THREADS
        status = text_tokens(&points, p, t);
        if (status == 0 && kinds)
            status = winnow(t, p, kinds);
        Py_END_ALLOW_THREADS
        if (status)
            PyErr_NoMemory();
    }
    PyMem_RawFree(points.fences);
    return status;
}

PyDoc_STRVAR(tokens_doc, "tokens(text, keywords, reserved, cap, syntax, own=0) -> (codes: uint32 bytes, lines: int32 bytes)");

static PyObject *py_tokens(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *text, *keywords, *reserved;
    Params p = {.k = 1, .k_spelled = 1, .w = 1};
    if (!PyArg_ParseTuple(args, "UO!O!nI|n", &text, &PyTuple_Type, &keywords, &PyTuple_Type, &reserved, &p.cap, &p.syntax, &p.own))
        return NULL;
    Tokens t = {0};
    PyObject *result = parse_params(keywords, reserved, &p) || run_passes(text, Py_None, &p, &t, NULL)
                           ? NULL
                           : Py_BuildValue("(NN)", array_bytes(t.codes, t.count, 4), array_bytes(t.lines, t.count, 4));
    free_params(&p);
    trim_scratch();
    return result;
}

PyDoc_STRVAR(fingerprints_doc,
             "fingerprints(text, keywords, reserved, k, k_spelled, w, cap, seed, syntax, k_prose=0, fence_lines=None, own=0) -> (hashes: uint64 "
             "bytes (the lowest bit clear: of the shape; the two lowest 01: as written, 11: of prose), lines: int32 bytes, end_lines: "
             "int32 bytes, tokens: int32 bytes, shapes: int32 bytes (how many of the shape up to each, with it)), along the text (by "
             "token, the prose's first, then the shape's)");

/* The fingerprints of every kind merged along the text, into new bytes; NULL with an exception set. */
static PyObject *merged_bytes(const Prints kinds[KINDS])
{
    Py_ssize_t n = kinds[SHAPE].count + kinds[SPELLED].count + kinds[PROSE].count;
    PyObject *hashes = PyBytes_FromStringAndSize(NULL, n * 8), *lines = PyBytes_FromStringAndSize(NULL, n * 4);
    PyObject *end_lines = PyBytes_FromStringAndSize(NULL, n * 4), *at = PyBytes_FromStringAndSize(NULL, n * 4);
    PyObject *shapes = PyBytes_FromStringAndSize(NULL, n * 4);
    if (!hashes || !lines || !end_lines || !at || !shapes) {
        Py_XDECREF(hashes);
        Py_XDECREF(lines);
        Py_XDECREF(end_lines);
        Py_XDECREF(at);
        Py_XDECREF(shapes);
        return NULL;
    }
    Prints out = {(uint64_t *)PyBytes_AS_STRING(hashes), (int32_t *)PyBytes_AS_STRING(lines), (int32_t *)PyBytes_AS_STRING(end_lines),
                  (int32_t *)PyBytes_AS_STRING(at), 0};
    merge_along(kinds, &out, (int32_t *)PyBytes_AS_STRING(shapes));
    return Py_BuildValue("(NNNNN)", hashes, lines, end_lines, at, shapes);
}

static PyObject *py_fingerprints(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *text, *keywords, *reserved, *fences = Py_None;
    Params p = {0};
    unsigned long long seed;
    if (!PyArg_ParseTuple(args, "UO!O!nnnnKI|nOn", &text, &PyTuple_Type, &keywords, &PyTuple_Type, &reserved, &p.k, &p.k_spelled, &p.w, &p.cap,
                          &seed, &p.syntax, &p.k_prose, &fences, &p.own))
        return NULL;
    p.seed = seed;
    Tokens t = {0};
    Prints kinds[KINDS] = {{0}, {0}, {0}};
    PyObject *result = parse_params(keywords, reserved, &p) || run_passes(text, fences, &p, &t, kinds) ? NULL : merged_bytes(kinds);
    free_params(&p);
    trim_scratch();
    return result;
}

PyDoc_STRVAR(fence_lines_doc, "fence_lines(text) -> [int]: where each line of spaces and tabs, then ``` or ~~~, starts");

static PyObject *py_fence_lines(PyObject *Py_UNUSED(self), PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "fence_lines needs a str");
        return NULL;
    }
    return fence_line_starts(text);
}

PyDoc_STRVAR(numbered_prefixes_doc, "numbered_prefixes(text, run) -> [int]: start and end of each line-number prefix of the runs "
                                    "of at least run lines numbered one after another");

static PyObject *py_numbered_prefixes(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *text;
    Py_ssize_t run;
    if (!PyArg_ParseTuple(args, "Un", &text, &run))
        return NULL;
    return numbered_prefixes(text, run);
}

PyDoc_STRVAR(bucket_starts_doc,
             "bucket_starts(hashes: sorted uint64 buffer, bits, starts: writable uint32 buffer of 2**bits + 1, filter: writable uint64 "
             "buffer of 2**n words): where the hashes of each value of their top bits start, and their count, into starts; the filter "
             "of the hashes, into filter");

/* The n of a buffer of 2**n words, or -1. */
static int filter_bits_of(const Py_buffer *filter)
{
    Py_ssize_t words = filter->len / 8;
    int fbits = 0;
    while (fbits < 40 && ((Py_ssize_t)1 << fbits) < words)
        fbits++;
    return filter->len % 8 == 0 && ((Py_ssize_t)1 << fbits) == words ? fbits : -1;
}

static PyObject *py_bucket_starts(PyObject *Py_UNUSED(self), PyObject *args)
{
    Py_buffer hashes, starts, filter;
    int bits;
    if (!PyArg_ParseTuple(args, "y*iw*w*", &hashes, &bits, &starts, &filter))
        return NULL;
    Py_ssize_t n = hashes.len / 8;
    int fbits = filter_bits_of(&filter);
    int valid = bits >= 1 && bits <= 32 && hashes.len % 8 == 0 && n <= UINT32_MAX && starts.len == (Py_ssize_t)(((1ull << bits) + 1) * 4) &&
                fbits >= 0 && fbits <= 32;
    if (valid) {
        Py_BEGIN_ALLOW_THREADS
        bucket_starts(hashes.buf, n, bits, starts.buf);
        fill_filter(hashes.buf, n, fbits, filter.buf);
        Py_END_ALLOW_THREADS
    }
    else
        PyErr_SetString(PyExc_ValueError,
                        "need 1 <= bits <= 32, fewer than 2**32 hashes, room for 2**bits + 1 starts and a filter of 2**n words, n <= 32");
    PyBuffer_Release(&hashes);
    PyBuffer_Release(&starts);
    PyBuffer_Release(&filter);
    return valid ? Py_NewRef(Py_None) : NULL;
}

/* For each hit, its query's position repeated and the files of its run, into new bytes. */
static PyObject *hit_rows(const Hit *hits, Py_ssize_t found, const uint32_t *files)
{
    Py_ssize_t rows = 0;
    for (Py_ssize_t i = 0; i < found; i++)
        rows += hits[i].count;
    PyObject *queries = PyBytes_FromStringAndSize(NULL, rows * (Py_ssize_t)sizeof(Py_ssize_t));
    PyObject *ids = PyBytes_FromStringAndSize(NULL, rows * 4);
    if (!queries || !ids) {
        Py_XDECREF(queries);
        Py_XDECREF(ids);
        return NULL;
    }
    Py_ssize_t *query = (Py_ssize_t *)PyBytes_AS_STRING(queries);
    uint32_t *id = (uint32_t *)PyBytes_AS_STRING(ids);
    for (Py_ssize_t i = 0; i < found; i++)
        for (Py_ssize_t j = 0; j < hits[i].count; j++) {
            *query++ = hits[i].query;
            *id++ = files[hits[i].first + j];
        }
    return Py_BuildValue("(NN)", queries, ids);
}

PyDoc_STRVAR(lookup_doc,
             "lookup(hashes: sorted uint64 buffer, files: uint32 buffer, starts, filter: from bucket_starts(hashes, bits, starts, filter), "
             "bits, queries: uint64 buffer) "
             "-> (positions: intp bytes, files: uint32 bytes): for each index entry sharing a hash with a query, the query's position and "
             "the entry's file, by query, then along the index");

static PyObject *py_lookup(PyObject *Py_UNUSED(self), PyObject *args)
{
    Py_buffer hashes, files, starts, filter, queries;
    int bits;
    if (!PyArg_ParseTuple(args, "y*y*y*y*iy*", &hashes, &files, &starts, &filter, &bits, &queries))
        return NULL;
    int fbits = filter_bits_of(&filter);
    Py_ssize_t n = hashes.len / 8, asked = queries.len / 8, found = 0;
    PyObject *result = NULL;
    Hit *hits = NULL;
    if (bits < 1 || bits > 32 || fbits < 0 || fbits > 32 || hashes.len % 8 || queries.len % 8 || files.len != n * 4 ||
        starts.len != (Py_ssize_t)(((1ull << bits) + 1) * 4) || ((const uint32_t *)starts.buf)[1ull << bits] != n)
        PyErr_SetString(PyExc_ValueError, "lookup needs an index's hashes and files, their bucket starts and filter, and uint64 queries");
    else if (!(hits = scratch(HITS_BLOCK, (size_t)(asked + 1) * sizeof *hits)))
        PyErr_NoMemory();
    else {
        Py_BEGIN_ALLOW_THREADS
        found = find_runs(hashes.buf, starts.buf, bits, filter.buf, fbits, queries.buf, asked, hits);
        Py_END_ALLOW_THREADS
        result = hit_rows(hits, found, files.buf);
    }
    trim_scratch();
    PyBuffer_Release(&hashes);
    PyBuffer_Release(&files);
    PyBuffer_Release(&starts);
    PyBuffer_Release(&filter);
    PyBuffer_Release(&queries);
    return result;
}

static PyMethodDef methods[] = {
    {"tokens", py_tokens, METH_VARARGS, tokens_doc},
    {"fingerprints", py_fingerprints, METH_VARARGS, fingerprints_doc},
    {"fence_lines", py_fence_lines, METH_O, fence_lines_doc},
    {"numbered_prefixes", py_numbered_prefixes, METH_VARARGS, numbered_prefixes_doc},
    {"bucket_starts", py_bucket_starts, METH_VARARGS, bucket_starts_doc},
    {"lookup", py_lookup, METH_VARARGS, lookup_doc},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot slots[] = {
#ifdef Py_mod_gil
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "llm_dlp.detect._winnow",
    .m_doc = "The tokenizer and winnowing behind llm_dlp.fingerprint.",
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC PyInit__winnow(void)
{
    static int scratch_ready; /* the key is made once: a module reimported, or in another interpreter, shares it */
    if (!scratch_ready && pthread_key_create(&scratch_key, free_scratch) != 0)
        return PyErr_NoMemory();
    scratch_ready = 1;
    classify_ascii();
    for (int i = 0; i < STATEMENT_WORDS; i++) {
        uint64_t h = FNV_OFFSET;
        for (const char *c = statement_words[i]; *c; c++)
            h = (h ^ (uint8_t)*c) * FNV_PRIME;
        statement_hash[i] = h;
    }
    return PyModuleDef_Init(&module);
}
