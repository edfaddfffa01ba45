/* Prints argc, every argv string and the environment (envp) as the
 * kernel laid them out on the initial stack, and checks that argv and
 * envp end with NULL. */
#include <stdio.h>

int main(int argc, char **argv, char **envp)
{
    printf("argc %d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d] = \"%s\"\n", i, argv[i]);
    printf("argv[argc] is NULL: %d\n", argv[argc] == NULL);
    int n = 0;
    for (char **e = envp; *e; e++)
        printf("envp[%d] = \"%s\"\n", n++, *e);
    printf("envc %d\n", n);
    printf("envp follows argv: %d\n", envp == argv + argc + 1);
    return argc;
}
