/* --shard I/N: parsing, and the cost-balanced split (harness/dist/shard.c). */
#include <string.h>
#include "check.h"
#include "shard.h"

static void parse(void)
{
    int i = -1, n = -1;
    char err[256];
    CHECK(mb_shard_parse("0/1", &i, &n, err, sizeof err) == 0 && i == 0 && n == 1);
    CHECK(mb_shard_parse("3/4", &i, &n, err, sizeof err) == 0 && i == 3 && n == 4);
    const char *bad[] = {"4/4", "-1/4", "1/0", "a/4", "1", "1/", "/4", "1/4x", "1 /4", "", "1/2/3",
                         "0/100001"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        err[0] = '\0';
        CHECK_MSG(mb_shard_parse(bad[k], &i, &n, err, sizeof err) != 0, "'%s' accepted", bad[k]);
        CHECK_MSG(strstr(err, "--shard") != NULL, "'%s': %s", bad[k], err);
    }
    mb_shard_parse("5/5", &i, &n, err, sizeof err);
    CHECK(strstr(err, "0..4") != NULL);   /* names the valid range */
}

static void assign(void)
{
    /* one long case and many short ones: a split by count would put 5 cases on each side */
    double cost[10] = {9, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    int owner[10], again[10];
    mb_shard_assign(cost, NULL, 10, 2, owner);
    double load[2] = {0, 0};
    for (int i = 0; i < 10; i++) {
        CHECK(owner[i] == 0 || owner[i] == 1);
        load[owner[i]] += cost[i];
    }
    CHECK_NEAR(load[0], 9, 0);   /* the long case alone */
    CHECK_NEAR(load[1], 9, 0);
    mb_shard_assign(cost, NULL, 10, 2, again);
    CHECK(!memcmp(owner, again, sizeof owner));   /* deterministic */
    /* LPT: within 4/3 of the best split */
    double c2[7] = {5, 5, 4, 4, 3, 3, 3};   /* best: 9/9/9 */
    int o2[7];
    mb_shard_assign(c2, NULL, 7, 3, o2);
    double l2[3] = {0, 0, 0};
    for (int i = 0; i < 7; i++)
        l2[o2[i]] += c2[i];
    for (int s = 0; s < 3; s++)
        CHECK(l2[s] <= 9 * 4.0 / 3);
    /* pinned cases keep their shard and count into its load */
    int pinned[4] = {0, -1, -1, -1}, o3[4];
    double c3[4] = {10, 1, 1, 1};
    mb_shard_assign(c3, pinned, 4, 2, o3);
    CHECK(o3[0] == 0 && o3[1] == 1 && o3[2] == 1 && o3[3] == 1);
    /* more shards than cases: some shards are empty, every case has one */
    int o4[2];
    double c4[2] = {1, 1};
    mb_shard_assign(c4, NULL, 2, 5, o4);
    CHECK(o4[0] != o4[1] && o4[0] >= 0 && o4[0] < 5 && o4[1] >= 0 && o4[1] < 5);
}

int main(void)
{
    parse();
    assign();
    return mb_test_result("test_dist_shard");
}
