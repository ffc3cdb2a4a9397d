/* Toolchain smoke check: what CPython needs from emcc's NODERAWFS at startup. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
    struct stat st;
    /* CPython sets sys.stdout to None when fstat(1) fails: every print then vanishes. */
    if (fstat(1, &st) != 0 || fstat(2, &st) != 0) {
        return 3;
    }
    /* CPython calls isatty() on the standard streams; broken ioctl support crashes here. */
    (void)isatty(0);
    (void)isatty(1);
    printf("emscripten-python smoke: stdout ok\n");
    fprintf(stderr, "emscripten-python smoke: stderr ok\n");
    return 0;
}
