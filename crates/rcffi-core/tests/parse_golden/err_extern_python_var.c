extern "Python" {
    int cb(int);
    int not_a_function;
}
