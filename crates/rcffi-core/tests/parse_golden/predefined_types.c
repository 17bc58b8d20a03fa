int8_t a; uint8_t b; int16_t c; uint16_t d; int32_t e; uint32_t f; int64_t g; uint64_t h;
intptr_t i; uintptr_t j; ptrdiff_t k; size_t l; ssize_t m; wchar_t n; char16_t o; char32_t p;
FILE *q; bool r; intmax_t s; uintmax_t t; int_least8_t u; uint_fast64_t v;
