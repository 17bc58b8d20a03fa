int ok;
unknown_t value;
