struct s { int a; }
