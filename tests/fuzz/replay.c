/* replay.c: runs a fuzz target on files, without libFuzzer.
 *
 * Usage: fuzz-replay-NAME PATH...  (files, or folders whose files are all
 * replayed).  Linked with a fuzz target's LLVMFuzzerTestOneInput, it makes
 * the committed corpus, every past crash included, a regression test of
 * the normal build (and of the sanitizer build).  A crash or a broken
 * invariant aborts; an unreadable path or an empty run fails.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
replay_file (const char *path)
{
  FILE *f = fopen (path, "rb");
  unsigned char *data = NULL;
  long size;

  if (f == NULL || fseek (f, 0, SEEK_END) != 0 || (size = ftell (f)) < 0
      || fseek (f, 0, SEEK_SET) != 0)
    goto fail;
  /* One more byte, so that an empty file has a buffer too. */
  data = malloc ((size_t)size + 1);
  if (data == NULL || fread (data, 1, (size_t)size, f) != (size_t)size)
    goto fail;
  fclose (f);
  printf ("replay %s (%ld bytes)\n", path, size);
  fflush (stdout);
  LLVMFuzzerTestOneInput (data, (size_t)size);
  free (data);
  return 0;

fail:
  perror (path);
  if (f != NULL)
    fclose (f);
  free (data);
  return -1;
}

static int
name_cmp (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

/* Replays the regular files of `dir` in name order; returns how many, or
 * -1 on an error. */
static int
replay_dir (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *e;
  char **names = NULL, path[4096];
  size_t n = 0, cap = 0, i;
  int count = 0;

  if (d == NULL)
    {
      perror (dir);
      return -1;
    }
  while ((e = readdir (d)) != NULL)
    {
      if (e->d_name[0] == '.')
        continue;
      if (n == cap)
        {
          char **grown;
          cap = cap ? 2 * cap : 64;
          grown = realloc (names, cap * sizeof *names);
          if (grown == NULL)
            abort ();
          names = grown;
        }
      names[n] = strdup (e->d_name);
      if (names[n++] == NULL)
        abort ();
    }
  closedir (d);
  qsort (names, n, sizeof *names, name_cmp);
  for (i = 0; i < n; i++)
    {
      struct stat sb;
      snprintf (path, sizeof path, "%s/%s", dir, names[i]);
      if (stat (path, &sb) == 0 && S_ISREG (sb.st_mode))
        {
          if (replay_file (path) != 0)
            count = -1;
          else if (count >= 0)
            count++;
        }
      free (names[i]);
    }
  free (names);
  return count;
}

int
main (int argc, char **argv)
{
  int i, total = 0, failed = 0;

  if (argc < 2)
    {
      fprintf (stderr, "usage: %s FILE_OR_FOLDER...\n", argv[0]);
      return 2;
    }
  for (i = 1; i < argc; i++)
    {
      struct stat sb;
      int n;

      if (stat (argv[i], &sb) != 0)
        {
          perror (argv[i]);
          failed = 1;
          continue;
        }
      n = S_ISDIR (sb.st_mode) ? replay_dir (argv[i])
                               : (replay_file (argv[i]) == 0 ? 1 : -1);
      if (n < 0)
        failed = 1;
      else
        total += n;
    }
  printf ("%d input(s) replayed\n", total);
  return failed || total == 0 ? 1 : 0;
}
