int printf(const char *format, ...);
int fprintf(FILE *stream, const char *format, ...);
int snprintf(char *str, size_t size, const char *format, ...);
int puts(const char *);
void *malloc(size_t);
void free(void *ptr);
