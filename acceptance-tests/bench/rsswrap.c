/* A provider "binary" that runs the real one and appends its peak RSS (KiB)
 * to a log: a compiled wrapper, so that it adds no time of its own. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef REAL
#error "REAL must be defined"
#endif
#ifndef LOG
#error "LOG must be defined"
#endif

int main(int argc, char **argv) {
    (void)argc;
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) {
        argv[0] = REAL;
        execv(REAL, argv);
        perror("execv");
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {}
    FILE *f = fopen(LOG, "a");
    if (f) { fprintf(f, "%ld\n", ru.ru_maxrss); fclose(f); }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
