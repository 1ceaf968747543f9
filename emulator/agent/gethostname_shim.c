/* libsmp_local_gethostname.so: the training toolkit's gethostname() preload, re-done. Answers
 * gethostname() with "current_host" from resourceconfig.json — /opt/ml/input/config/ (as on
 * SageMaker) or $SMP_LOCAL_RESOURCECONFIG (smp-local without namespaces) — and falls back to the
 * kernel's name when the file or key is missing (TK's version does not check). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static int from_resourceconfig(char* name, size_t len) {
  const char* path = getenv("SMP_LOCAL_RESOURCECONFIG");
  if (!path || !*path) path = "/opt/ml/input/config/resourceconfig.json";
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  char buf[65536];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  const char* key = strstr(buf, "\"current_host\"");
  if (!key) return -1;
  const char* colon = strchr(key + 14, ':');
  if (!colon) return -1;
  const char* open = strchr(colon, '"');
  if (!open) return -1;
  const char* close = strchr(open + 1, '"');
  if (!close) return -1;
  size_t vlen = (size_t)(close - open - 1);
  if (vlen + 1 > len) {
    errno = ENAMETOOLONG;
    return -2;
  }
  memcpy(name, open + 1, vlen);
  name[vlen] = 0;
  return 0;
}

int gethostname(char* name, size_t len) {
  int rc = from_resourceconfig(name, len);
  if (rc == 0) return 0;
  if (rc == -2) return -1;
  struct utsname u;
  if (uname(&u) != 0) return -1;
  size_t n = strlen(u.nodename);
  if (n + 1 > len) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(name, u.nodename, n + 1);
  return 0;
}
