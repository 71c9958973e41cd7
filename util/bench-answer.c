
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The answer check's reader alone: MB/s over the files given (a claim
 * and a search Bundle), beside jansson parsing the same bytes into a
 * tree, in the same run.  Built and run by util/bench.
 *
 *   bench-answer PATIENT TYPE FILE...
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ngx_bluebutton_compartment.h"


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


int
main(int argc, char **argv)
{
    int                     i, expect, verdict;
    long                    len;
    char                   *data;
    FILE                   *f;
    size_t                  n, runs, r, nrules;
    double                  t0, ours, theirs;
    json_t                 *j;
    bb_compartment_t        c;
    bb_compartment_rule_t   rules[BB_COMPARTMENT_RULES_MAX];

    if (argc < 4) {
        fprintf(stderr, "usage: %s PATIENT TYPE FILE...\n", argv[0]);
        return 2;
    }

    nrules = bb_compartment_default_rules(rules);

    for (i = 3; i < argc; i++) {
        f = fopen(argv[i], "rb");
        if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) <= 0)
        {
            perror(argv[i]);
            return 1;
        }

        rewind(f);
        data = malloc(len);
        if (data == NULL || fread(data, 1, len, f) != (size_t) len) {
            perror(argv[i]);
            return 1;
        }

        fclose(f);

        expect = strstr(data, "\"resourceType\":\"Bundle\"")
                 ? BB_COMPARTMENT_SEARCH : BB_COMPARTMENT_READ;

        /* about 1 GB of each, in 64 KB pieces as buffers arrive */

        runs = 1 + (1L << 30) / len;
        verdict = 0;

        t0 = now();

        for (r = 0; r < runs; r++) {
            bb_compartment_init(&c, rules, nrules, expect, argv[2], argv[1]);

            for (n = 0; n < (size_t) len; n += 65536) {
                (void) bb_compartment_feed(&c, data + n,
                                           (size_t) len - n < 65536
                                           ? (size_t) len - n : 65536);
            }

            verdict = bb_compartment_end(&c);
        }

        ours = (double) len * runs / (now() - t0) / 1e6;

        if (verdict != BB_COMPARTMENT_OK) {
            fprintf(stderr, "%s: %s\n", argv[i],
                    bb_compartment_verdict_text(verdict));
            return 1;
        }

        runs = runs / 8 + 1;
        t0 = now();

        for (r = 0; r < runs; r++) {
            j = json_loadb(data, len, 0, NULL);
            json_decref(j);
        }

        theirs = (double) len * runs / (now() - t0) / 1e6;

        printf("answer check reader: %-18s %8ld bytes %7.0f MB/s "
               "(jansson's tree: %.0f MB/s, %.1fx)\n",
               strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i],
               len, ours, theirs, ours / theirs);

        free(data);
    }

    return 0;
}
