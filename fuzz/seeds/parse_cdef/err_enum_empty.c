enum empty { };
