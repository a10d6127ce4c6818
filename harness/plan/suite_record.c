/* run.json's record of a suite (suite_record.h). */
#include "suite_record.h"

#include "provenance.h"   /* mb_fnv1a_hex, mb_suite_hash_join, mb_git_commit */

void mb_suite_hash(const mb_suite *suite, char out[17])
{
    char h[MB_MAX_SUITE_FILES][17];
    const char *hp[MB_MAX_SUITE_FILES];
    int n = suite ? suite->n_files : 0;
    for (int i = 0; i < n; i++) {
        mb_fnv1a_hex(suite->file_content[i], h[i]);
        hp[i] = h[i];
    }
    mb_suite_hash_join(hp, n, out);
}

cJSON *mb_suite_files_json(const mb_suite *suite, int with_content)
{
    cJSON *files = cJSON_CreateArray();
    for (int i = 0; suite && i < suite->n_files; i++) {
        char h[17];
        mb_fnv1a_hex(suite->file_content[i], h);
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "path", suite->file_path[i]);
        cJSON_AddStringToObject(f, "fnv1a64", h);
        if (with_content)
            cJSON_AddStringToObject(f, "content", suite->file_content[i]);
        cJSON_AddItemToArray(files, f);
    }
    return files;
}

cJSON *mb_provenance_identity(const mb_suite *suite, cJSON *settings)
{
    cJSON *id = cJSON_CreateObject();
    cJSON_AddItemToObject(id, "suite_files", mb_suite_files_json(suite, 0));
    if (settings)
        cJSON_AddItemToObject(id, "settings", settings);
    char commit[256];
    mb_git_commit(commit, sizeof commit);
    cJSON *g = cJSON_AddObjectToObject(id, "git");
    if (commit[0])
        cJSON_AddStringToObject(g, "commit", commit);
    else
        cJSON_AddNullToObject(g, "commit");
    return id;
}
