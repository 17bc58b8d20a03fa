//! Tokens of cdef sources (written by the parser work).
