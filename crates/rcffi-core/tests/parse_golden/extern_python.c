extern "Python" int on_event(int, void *);
extern "Python+C" int both(int);
extern "C+Python" int both2(int);
extern "Python + C" int spaced(int);
extern "Python" static int static_cb(int);
static extern "Python" int static_cb2(int);
extern "Python" {
    int cb1(int);
    int cb2(void);
    typedef int cb_t;
    cb_t cb3(cb_t, ...);
}
extern "Python+C" { void cb4(void); }
int normal(int);
