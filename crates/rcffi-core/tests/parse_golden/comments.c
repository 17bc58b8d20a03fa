// A line comment \
   continued on the next line
/* a block
   comment */ int /* inside */ a /**/; // trailing
int/**/b;
#define X 1 /* comment after a define */
#define Y \
    2 // continued define
/* comment with #define Z 3 inside */
int c; /* unterminated-looking // in a block */
