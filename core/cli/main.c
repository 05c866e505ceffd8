/* main.c: gimp-diffusion-cli, the command-line front end over the task API. */
#include "gimp-diffusion.h"
#include "png-io.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG "gimp-diffusion-cli"

/* Exit codes: 0 done, 1 the run failed (a file, the model), 2 bad usage. */
enum
{
  EXIT_RUN_FAILED = 1,
  EXIT_USAGE = 2
};

static void
usage (FILE *out)
{
  const char *const *names = gd_sampler_names ();
  int i;

  fprintf (out,
           "Usage: " PROG " img2img IN.png -o OUT.png [OPTIONS]\n"
           "\n"
           "Re-imagines IN.png with a denoising diffusion model (SDEdit):\n"
           "noises it to t0 = strength * T and samples back to t = 0.\n"
           "Gray and RGB PNGs, 8 or 16 bit; alpha is kept as it is and the\n"
           "output has the input's bit depth.\n"
           "\n"
           "Options:\n"
           "  -o, --output PATH   where to write the result (required)\n"
           "  --model PATH        model file (default:\n"
           "                      %s)\n"
           "  --sampler NAME      sampler (default: ddim), one of:\n"
           "                     ",
           gd_model_default_path ());
  for (i = 0; names != NULL && names[i] != NULL; i++)
    fprintf (out, " %s", names[i]);
  fprintf (out,
           "\n"
           "  --steps N           network evaluations, 1..1000 (default: 20)\n"
           "  --strength S        0..1, how far from the input (default: 0.5;\n"
           "                      0 returns the input unchanged)\n"
           "  --seed N            noise seed, 0..2^64-1 (default: 0); a\n"
           "                      negative 32-bit value means the same as in\n"
           "                      the GIMP plug-in\n"
           "  --eta E             ddim only: 0 deterministic, 1 stochastic\n"
           "                      (default: 0)\n"
           "  --threads N         worker threads, 0 = all cores (default: 0)\n"
           "  -q, --quiet         no progress line\n"
           "  -h, --help          this help\n"
           "  --version           the version\n"
           "\n"
           "The environment variable GD_MODEL_DIR overrides the folder of the\n"
           "default model.\n");
}

static int
usage_error (const char *fmt, const char *arg)
{
  fprintf (stderr, PROG ": ");
  fprintf (stderr, fmt, arg);
  fprintf (stderr, "\nTry '" PROG " --help'.\n");
  return EXIT_USAGE;
}

/* Strict number parsing: the whole argument, no overflow. */
static int
parse_long (const char *s, long min, long max, long *out)
{
  char *end;
  long v;

  errno = 0;
  v = strtol (s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

static int
parse_double (const char *s, double min, double max, double *out)
{
  char *end;
  double v;

  errno = 0;
  v = strtod (s, &end);
  if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max))
    return -1;
  *out = v;
  return 0;
}

/* 0..2^64-1, or a negative 32-bit value read as the plug-in's INT32 seed
 * (its two's complement bits), so both front ends agree on every seed. */
static int
parse_seed (const char *s, uint64_t *out)
{
  char *end;
  long long neg;
  unsigned long long v;

  errno = 0;
  if (s[0] == '-')
    {
      neg = strtoll (s, &end, 10);
      if (errno != 0 || *end != '\0' || end == s || neg < INT32_MIN)
        return -1;
      *out = (uint32_t)(int32_t)neg;
      return 0;
    }
  v = strtoull (s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || s[0] == '+')
    return -1;
  *out = v;
  return 0;
}

typedef struct
{
  int quiet;
  int tty;
  int last;
} progress_state;

static int
report_progress (void *user_data, int done, int total)
{
  progress_state *state = user_data;

  if (state->quiet)
    return 0;
  if (state->tty)
    fprintf (stderr, "\rimg2img: step %d of %d", done, total);
  else
    fprintf (stderr, "img2img: step %d of %d\n", done, total);
  state->last = done;
  return 0;
}

static double
now_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int
main (int argc, char **argv)
{
  enum
  {
    OPT_MODEL = 256,
    OPT_SAMPLER,
    OPT_STEPS,
    OPT_STRENGTH,
    OPT_SEED,
    OPT_ETA,
    OPT_THREADS,
    OPT_VERSION
  };
  static const struct option options[]
      = { { "output", required_argument, NULL, 'o' },
          { "model", required_argument, NULL, OPT_MODEL },
          { "sampler", required_argument, NULL, OPT_SAMPLER },
          { "steps", required_argument, NULL, OPT_STEPS },
          { "strength", required_argument, NULL, OPT_STRENGTH },
          { "seed", required_argument, NULL, OPT_SEED },
          { "eta", required_argument, NULL, OPT_ETA },
          { "threads", required_argument, NULL, OPT_THREADS },
          { "quiet", no_argument, NULL, 'q' },
          { "help", no_argument, NULL, 'h' },
          { "version", no_argument, NULL, OPT_VERSION },
          { NULL, 0, NULL, 0 } };
  const char *command = NULL, *in_path = NULL, *out_path = NULL;
  const char *model_path = NULL;
  gd_task_params params;
  progress_state progress = { 0, 0, 0 };
  gd_png png, result;
  gd_model *model;
  gd_error err;
  long threads = 0, lv;
  double start;
  int opt, status;

  gd_task_params_init (&params);
  params.sampler.sampler = "ddim";

  opterr = 0;
  while ((opt = getopt_long (argc, argv, ":o:qh", options, NULL)) != -1)
    switch (opt)
      {
      case 'o':
        out_path = optarg;
        break;
      case OPT_MODEL:
        model_path = optarg;
        break;
      case OPT_SAMPLER:
        if (!gd_sampler_is_known (optarg))
          return usage_error ("unknown sampler '%s'", optarg);
        params.sampler.sampler = optarg;
        break;
      case OPT_STEPS:
        if (parse_long (optarg, 1, GD_T_MAX, &lv) != 0)
          return usage_error ("--steps '%s': expected an integer 1..1000",
                              optarg);
        params.sampler.steps = (int)lv;
        break;
      case OPT_STRENGTH:
        if (parse_double (optarg, 0.0, 1.0, &params.strength) != 0)
          return usage_error ("--strength '%s': expected a number 0..1",
                              optarg);
        break;
      case OPT_SEED:
        if (parse_seed (optarg, &params.sampler.seed) != 0)
          return usage_error ("--seed '%s': expected an integer 0..2^64-1",
                              optarg);
        break;
      case OPT_ETA:
        if (parse_double (optarg, 0.0, 1.0, &params.sampler.eta) != 0)
          return usage_error ("--eta '%s': expected a number 0..1", optarg);
        break;
      case OPT_THREADS:
        if (parse_long (optarg, 0, 1024, &threads) != 0)
          return usage_error ("--threads '%s': expected an integer 0..1024",
                              optarg);
        break;
      case 'q':
        progress.quiet = 1;
        break;
      case 'h':
        usage (stdout);
        return 0;
      case OPT_VERSION:
        printf (PROG " " GD_VERSION "\n");
        return 0;
      case ':':
        return usage_error ("option '%s' needs a value", argv[optind - 1]);
      default:
        return usage_error ("unknown option '%s'", argv[optind - 1]);
      }

  if (optind < argc)
    command = argv[optind++];
  if (command == NULL)
    return usage_error ("%s", "no command given (expected img2img)");
  if (strcmp (command, "img2img") != 0)
    return usage_error ("unknown command '%s' (expected img2img)", command);
  if (optind < argc)
    in_path = argv[optind++];
  if (in_path == NULL)
    return usage_error ("%s", "img2img: no input file given");
  if (optind < argc)
    return usage_error ("unexpected argument '%s'", argv[optind]);
  if (out_path == NULL)
    return usage_error ("%s", "img2img: no output file given (-o OUT.png)");
  if (model_path == NULL)
    model_path = gd_model_default_path ();

  gd_error_clear (&err);
  gd_set_threads ((int)threads);
  if (gd_png_read (in_path, &png, &err) != GD_OK)
    {
      fprintf (stderr, PROG ": %s\n", err.message);
      return EXIT_RUN_FAILED;
    }
  model = gd_model_load (model_path, &err);
  if (model == NULL)
    {
      fprintf (stderr, PROG ": cannot load the model: %s\n", err.message);
      gd_png_free (&png);
      return EXIT_RUN_FAILED;
    }

  progress.tty = isatty (STDERR_FILENO);
  params.progress = report_progress;
  params.progress_data = &progress;
  memset (&result, 0, sizeof result);
  start = now_seconds ();
  status = gd_img2img (model, &params, &png.color, &result.color, &err);
  if (progress.tty && progress.last > 0 && !progress.quiet)
    fputc ('\n', stderr);
  gd_model_free (model);
  if (status != GD_OK)
    {
      fprintf (stderr, PROG ": img2img failed: %s\n", err.message);
      gd_png_free (&png);
      return EXIT_RUN_FAILED;
    }
  if (!progress.quiet)
    fprintf (stderr, "img2img: %d x %d, %d network evaluations in %.2f s\n",
             png.color.width, png.color.height, progress.last,
             now_seconds () - start);

  /* The alpha and the bit depth of the input go back out unchanged. */
  result.alpha = png.alpha;
  result.bit_depth = png.bit_depth;
  status = gd_png_write (out_path, &result, &err);
  result.alpha = NULL;
  gd_png_free (&result);
  gd_png_free (&png);
  if (status != GD_OK)
    {
      fprintf (stderr, PROG ": %s\n", err.message);
      return EXIT_RUN_FAILED;
    }
  return 0;
}
