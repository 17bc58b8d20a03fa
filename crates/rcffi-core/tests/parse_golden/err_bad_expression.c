int x[4 +];
