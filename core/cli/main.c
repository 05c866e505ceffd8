/* main.c: gimp-diffusion-cli, the command-line front end over the task API:
 * img2img, inpaint, upscale and denoise on PNG files. */
#include "gimp-diffusion.h"
#include "png-io.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG "gimp-diffusion-cli"

/* Exit codes: 0 done, 1 the run failed (a file, the model), 2 bad usage;
 * 128 + the signal when interrupted (nothing written). */
enum
{
  EXIT_RUN_FAILED = 1,
  EXIT_USAGE = 2
};

/* --steps, --strength and --eta when they are not given: the core's
 * per-tool defaults (gd_tool_defaults_get), the plug-in's too. */
static gd_tool_defaults
tool_defaults (gd_tool tool)
{
  gd_tool_defaults d = { 0.5, 0.0, 20, GD_FILL_SMOOTH };

  gd_tool_defaults_get (tool, &d, NULL);
  return d;
}

static void
usage (FILE *out)
{
  const char *const *names = gd_sampler_names ();
  int i;

  fprintf (out,
           "Usage: " PROG " COMMAND IN.png -o OUT.png [OPTIONS]\n"
           "\n"
           "Runs a denoising diffusion model on IN.png.  Commands:\n"
           "  img2img   re-imagines the image (SDEdit): noised to\n"
           "            t0 = strength * T and sampled back\n"
           "  inpaint   regenerates where --mask is white, keeps where it is\n"
           "            black (gray: a feathered edge); pixels under black\n"
           "            stay bit for bit\n"
           "  upscale   enlarges --scale times with plausible detail (DDNM);\n"
           "            the result, box-downsampled, is the input\n"
           "  denoise   removes Gaussian noise of --sigma\n"
           "Gray and RGB PNGs, 8 or 16 bit; alpha is kept as it is (upscale\n"
           "enlarges it) and the output has the input's bit depth.\n"
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
  fprintf (
      out,
      "\n"
      "  --steps N           network evaluations, 1..1000 (default:\n"
      "                      img2img %d, inpaint %d, upscale %d,\n"
      "                      denoise %d)\n"
      "  --strength S        0..1, how far from the input: img2img %g,\n"
      "                      inpaint %g (1: anew from noise; below 1\n"
      "                      refines the hole's --fill), upscale %g\n"
      "                      (from a noised resize; 1 from pure noise)\n"
      "                      by default; 0 returns\n"
      "                      the input (upscale: the plain resize)\n"
      "  --seed N            noise seed, 0..2^64-1 (default: 0); a\n"
      "                      negative 32-bit value means the same as in\n"
      "                      the GIMP plug-in\n"
      "  --eta E             ddim only: 0 deterministic, 1 stochastic\n"
      "                      (default: img2img %g, inpaint %g, upscale\n"
      "                      %g, denoise %g)\n"
      "  --mask MASK.png     inpaint: the region to regenerate, IN's size\n"
      "  --fill auto|patch|smooth  inpaint below strength 1: what the\n"
      "                      hole starts from: patches of the image around\n"
      "                      it (texture and structure), the smooth fill\n"
      "                      from its border, or each hole by its shape\n"
      "                      (auto: patches for a compact object-sized\n"
      "                      hole, smooth for a thin stroke or one over 5%%\n"
      "                      of the image) (default: %s)\n"
      "  --jumps N           inpaint with a stochastic sampler: RePaint\n"
      "                      resampling rounds per step (default: 1)\n"
      "  --scale 2|4         upscale: the factor (default: 2)\n"
      "  --kernel bicubic|box  upscale: the downscale the result is kept\n"
      "                      consistent with: antialiased bicubic (as\n"
      "                      Pillow, MATLAB) or the s x s mean (default:\n"
      "                      bicubic)\n"
      "  --sigma N|auto      denoise: the noise's standard deviation on\n"
      "                      the 0..255 scale, or estimated from the\n"
      "                      image (default: auto)\n"
      "  --one-step          denoise: one network evaluation, the MMSE\n"
      "                      estimate (sharpest PSNR, softest look)\n"
      "  --no-clip-correction  denoise: take pixels at 0 or 255 as they\n"
      "                      are (default: as clipped after the noise,\n"
      "                      corrected with one more evaluation)\n"
      "  --ensemble 1|2|4|8  average the network over as many flips and\n"
      "                      transposes of the image (self-ensemble:\n"
      "                      that many times the time; denoise gains\n"
      "                      most; default: 1)\n"
      "  --memory MIB        memory for the network; larger images are\n"
      "                      done in tiles (default: 512)\n"
      "  --tile N            tile side in pixels (default: from --memory)\n"
      "  --threads N         worker threads, 0 = all cores (default: 0)\n"
      "  --precision exact|fast\n"
      "                      convolutions faster (fast, the default: BF16\n"
      "                      on AMX or AVX512_BF16, else Winograd on AVX2,\n"
      "                      else exact) or in FP32 as the reference (exact:\n"
      "                      the same pixels on every CPU)\n"
      "  -q, --quiet         no progress line\n"
      "  -h, --help          this help\n"
      "  --version           the version\n"
      "\n"
      "The environment variable GD_MODEL_DIR overrides the folder of the\n"
      "default model.  Ctrl-C stops a run; nothing is written then.\n",
      tool_defaults (GD_TOOL_IMG2IMG).steps, tool_defaults (GD_TOOL_INPAINT).steps,
      tool_defaults (GD_TOOL_UPSCALE).steps, tool_defaults (GD_TOOL_DENOISE).steps,
      tool_defaults (GD_TOOL_IMG2IMG).strength,
      tool_defaults (GD_TOOL_INPAINT).strength,
      tool_defaults (GD_TOOL_UPSCALE).strength, tool_defaults (GD_TOOL_IMG2IMG).eta,
      tool_defaults (GD_TOOL_INPAINT).eta, tool_defaults (GD_TOOL_UPSCALE).eta,
      tool_defaults (GD_TOOL_DENOISE).eta,
      gd_fill_name (tool_defaults (GD_TOOL_INPAINT).fill));
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

/* ---------------------------------------------------------------- progress */

static volatile sig_atomic_t interrupted;

static void
on_signal (int sig)
{
  interrupted = sig;
}

/* SIGINT and SIGTERM ask the run to stop at its next tile; a second one
 * kills as usual (SA_RESETHAND). */
static void
catch_signals (void)
{
  struct sigaction sa;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
}

typedef struct
{
  const char *tool;
  int quiet;
  int tty;
  int done;
} progress_state;

static int
report_progress (void *user_data, const gd_progress_info *info)
{
  progress_state *state = user_data;

  state->done = info->done;
  if (!state->quiet)
    {
      fprintf (stderr, "%s%s: step %d of %d", state->tty ? "\r" : "",
               state->tool, info->step, info->steps);
      if (info->tiles > 1)
        fprintf (stderr, ", tile %d of %d (%d of %d evaluations)", info->tile,
                 info->tiles, info->done, info->total);
      fputs (state->tty ? "  " : "\n", stderr);
    }
  return interrupted != 0;
}

static double
now_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------- files */

/* The mask as one 0..1 channel: a gray PNG's value, an RGB PNG's mean;
 * its alpha is not looked at.  It must have the image's size. */
static int
read_mask (const char *path, const char *in_path, const gd_image *in,
           gd_image *mask)
{
  gd_png png;
  gd_error err;
  size_t n, i;

  gd_error_clear (&err);
  if (gd_png_read (path, &png, &err) != GD_OK)
    {
      fprintf (stderr, PROG ": the mask: %s\n", err.message);
      return -1;
    }
  if (png.color.width != in->width || png.color.height != in->height)
    {
      fprintf (stderr,
               PROG ": the mask %s is %d x %d, the image %s is %d x %d: "
                    "they must have the same size\n",
               path, png.color.width, png.color.height, in_path, in->width,
               in->height);
      gd_png_free (&png);
      return -1;
    }
  if (gd_image_alloc (mask, in->width, in->height, 1, &err) != GD_OK)
    {
      fprintf (stderr, PROG ": the mask: %s\n", err.message);
      gd_png_free (&png);
      return -1;
    }
  n = (size_t)in->width * (size_t)in->height;
  for (i = 0; i < n; i++)
    {
      const float *px = png.color.data + i * png.color.channels;

      mask->data[i]
          = png.color.channels == 1 ? px[0] : (px[0] + px[1] + px[2]) / 3.0f;
    }
  gd_png_free (&png);
  return 0;
}

/* Nearest replication of the alpha plane, scale times (upscale). */
static uint16_t *
enlarge_alpha (const uint16_t *alpha, int width, int height, int scale)
{
  size_t out_w = (size_t)width * scale, out_h = (size_t)height * scale;
  uint16_t *out = malloc (out_w * out_h * sizeof *out);

  if (out == NULL)
    return NULL;
  for (size_t y = 0; y < out_h; y++)
    for (size_t x = 0; x < out_w; x++)
      out[y * out_w + x] = alpha[(y / scale) * width + x / scale];
  return out;
}

/* ---------------------------------------------------------------- main */

typedef struct
{
  gd_tool tool;
  const char *in_path;
  const char *out_path;
  const char *model_path;
  const char *mask_path;
  int strength_given;
  int sigma_auto;
  long threads;
  int quiet;
  gd_task_params params;
} cli_args;

/* Options a tool does not take are refused rather than ignored. */
static int
check_tool_options (const cli_args *a, const int *given)
{
  static const struct
  {
    int option;
    const char *name;
    gd_tool tool;
  } only[] = {
    { 'm', "--mask", GD_TOOL_INPAINT },  { 'j', "--jumps", GD_TOOL_INPAINT },
    { 'f', "--fill", GD_TOOL_INPAINT },
    { 'x', "--scale", GD_TOOL_UPSCALE }, { 'k', "--kernel", GD_TOOL_UPSCALE },
    { 's', "--sigma", GD_TOOL_DENOISE }, { '1', "--one-step", GD_TOOL_DENOISE },
    { 'c', "--no-clip-correction", GD_TOOL_DENOISE }
  };
  char what[64];

  for (size_t k = 0; k < sizeof only / sizeof only[0]; k++)
    if (given[only[k].option] && a->tool != only[k].tool)
      {
        snprintf (what, sizeof what, "%s is an option of %s", only[k].name,
                  gd_tool_name (only[k].tool));
        return usage_error ("%s", what);
      }
  if (given['t'] && a->tool == GD_TOOL_DENOISE)
    return usage_error ("%s", "--strength is not an option of denoise (the "
                              "noise level sets the start: --sigma)");
  return 0;
}

static int
parse_args (int argc, char **argv, cli_args *a)
{
  enum
  {
    OPT_MODEL = 256,
    OPT_SAMPLER,
    OPT_STEPS,
    OPT_STRENGTH,
    OPT_SEED,
    OPT_ETA,
    OPT_MASK,
    OPT_JUMPS,
    OPT_FILL,
    OPT_SCALE,
    OPT_KERNEL,
    OPT_SIGMA,
    OPT_ONE_STEP,
    OPT_NO_CLIP_CORRECTION,
    OPT_ENSEMBLE,
    OPT_MEMORY,
    OPT_TILE,
    OPT_THREADS,
    OPT_PRECISION,
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
          { "mask", required_argument, NULL, OPT_MASK },
          { "jumps", required_argument, NULL, OPT_JUMPS },
          { "fill", required_argument, NULL, OPT_FILL },
          { "scale", required_argument, NULL, OPT_SCALE },
          { "kernel", required_argument, NULL, OPT_KERNEL },
          { "sigma", required_argument, NULL, OPT_SIGMA },
          { "one-step", no_argument, NULL, OPT_ONE_STEP },
          { "no-clip-correction", no_argument, NULL, OPT_NO_CLIP_CORRECTION },
          { "ensemble", required_argument, NULL, OPT_ENSEMBLE },
          { "memory", required_argument, NULL, OPT_MEMORY },
          { "tile", required_argument, NULL, OPT_TILE },
          { "threads", required_argument, NULL, OPT_THREADS },
          { "precision", required_argument, NULL, OPT_PRECISION },
          { "quiet", no_argument, NULL, 'q' },
          { "help", no_argument, NULL, 'h' },
          { "version", no_argument, NULL, OPT_VERSION },
          { NULL, 0, NULL, 0 } };
  gd_task_params *p = &a->params;
  int given[128] = { 0 };
  const char *command;
  long lv;
  int opt;

  opterr = 0;
  while ((opt = getopt_long (argc, argv, ":o:qh", options, NULL)) != -1)
    switch (opt)
      {
      case 'o':
        a->out_path = optarg;
        break;
      case OPT_MODEL:
        a->model_path = optarg;
        break;
      case OPT_SAMPLER:
        if (gd_sampler_from_name (optarg, &p->sampler.kind, NULL) != GD_OK)
          return usage_error ("unknown sampler '%s'", optarg);
        break;
      case OPT_STEPS:
        if (parse_long (optarg, 1, GD_T_MAX, &lv) != 0)
          return usage_error ("--steps '%s': expected an integer 1..1000",
                              optarg);
        p->sampler.steps = (int)lv;
        given['n'] = 1;
        break;
      case OPT_STRENGTH:
        if (parse_double (optarg, 0.0, 1.0, &p->strength) != 0)
          return usage_error ("--strength '%s': expected a number 0..1",
                              optarg);
        given['t'] = 1;
        break;
      case OPT_SEED:
        if (parse_seed (optarg, &p->sampler.seed) != 0)
          return usage_error ("--seed '%s': expected an integer 0..2^64-1",
                              optarg);
        break;
      case OPT_ETA:
        if (parse_double (optarg, 0.0, 1.0, &p->sampler.eta) != 0)
          return usage_error ("--eta '%s': expected a number 0..1", optarg);
        given['e'] = 1;
        break;
      case OPT_MASK:
        a->mask_path = optarg;
        given['m'] = 1;
        break;
      case OPT_JUMPS:
        if (parse_long (optarg, 1, 100, &lv) != 0)
          return usage_error ("--jumps '%s': expected an integer 1..100",
                              optarg);
        p->resample_jumps = (int)lv;
        given['j'] = 1;
        break;
      case OPT_FILL:
        if (gd_fill_from_name (optarg) < 0)
          return usage_error ("--fill '%s': expected auto, patch or smooth",
                              optarg);
        p->fill = (gd_fill)gd_fill_from_name (optarg);
        given['f'] = 1;
        break;
      case OPT_SCALE:
        if (strcmp (optarg, "2") != 0 && strcmp (optarg, "4") != 0)
          return usage_error ("--scale '%s': unsupported scale (2 or 4)",
                              optarg);
        p->scale = optarg[0] - '0';
        given['x'] = 1;
        break;
      case OPT_KERNEL:
        if (strcmp (optarg, "bicubic") == 0)
          p->kernel = GD_KERNEL_BICUBIC;
        else if (strcmp (optarg, "box") == 0)
          p->kernel = GD_KERNEL_BOX;
        else
          return usage_error ("--kernel '%s': expected bicubic or box", optarg);
        given['k'] = 1;
        break;
      case OPT_SIGMA:
        a->sigma_auto = strcmp (optarg, "auto") == 0;
        if (!a->sigma_auto
            && (parse_double (optarg, 0.0, 255.0, &p->sigma) != 0
                || !(p->sigma > 0.0)))
          return usage_error ("--sigma '%s': expected a number above 0, up "
                              "to 255, or 'auto'",
                              optarg);
        given['s'] = 1;
        break;
      case OPT_ONE_STEP:
        p->one_step = 1;
        given['1'] = 1;
        break;
      case OPT_NO_CLIP_CORRECTION:
        p->clip_correction = 0;
        given['c'] = 1;
        break;
      case OPT_ENSEMBLE:
        if (parse_long (optarg, 1, 8, &lv) != 0 || (lv & (lv - 1)) != 0)
          return usage_error ("--ensemble '%s': expected 1, 2, 4 or 8", optarg);
        p->ensemble = (int)lv;
        break;
      case OPT_MEMORY:
        if (parse_long (optarg, 16, 1L << 20, &lv) != 0)
          return usage_error ("--memory '%s': expected MiB, 16..1048576",
                              optarg);
        p->memory_budget = (size_t)lv << 20;
        break;
      case OPT_TILE:
        if (parse_long (optarg, 1, 1 << 16, &lv) != 0)
          return usage_error ("--tile '%s': expected a side in pixels", optarg);
        p->tile_size = (int)lv;
        break;
      case OPT_THREADS:
        if (parse_long (optarg, 0, 1024, &a->threads) != 0)
          return usage_error ("--threads '%s': expected an integer 0..1024",
                              optarg);
        break;
      case OPT_PRECISION:
        if (gd_precision_from_name (optarg) < 0)
          return usage_error ("--precision '%s': expected exact or fast",
                              optarg);
        p->precision = (gd_precision)gd_precision_from_name (optarg);
        break;
      case 'q':
        a->quiet = 1;
        break;
      case 'h':
        usage (stdout);
        exit (0);
      case OPT_VERSION:
        printf (PROG " " GD_VERSION "\n");
        exit (0);
      case ':':
        return usage_error ("option '%s' needs a value", argv[optind - 1]);
      default:
        return usage_error ("unknown option '%s'", argv[optind - 1]);
      }

  if (optind >= argc)
    return usage_error ("%s", "no command given (expected img2img, inpaint, "
                              "upscale or denoise)");
  command = argv[optind++];
  if (gd_tool_from_name (command, &a->tool, NULL) != GD_OK)
    return usage_error ("unknown command '%s' (expected img2img, inpaint, "
                        "upscale or denoise)",
                        command);
  if (optind < argc)
    a->in_path = argv[optind++];
  if (a->in_path == NULL)
    return usage_error ("%s: no input file given", command);
  if (optind < argc)
    return usage_error ("unexpected argument '%s'", argv[optind]);
  if (a->out_path == NULL)
    return usage_error ("%s: no output file given (-o OUT.png)", command);
  if (check_tool_options (a, given) != 0)
    return EXIT_USAGE;
  if (a->tool == GD_TOOL_INPAINT && a->mask_path == NULL)
    return usage_error ("%s", "inpaint: no mask given (--mask MASK.png)");
  if (!given['t'])
    p->strength = tool_defaults (a->tool).strength;
  if (!given['e'])
    p->sampler.eta = tool_defaults (a->tool).eta;
  if (!given['n'])
    p->sampler.steps = tool_defaults (a->tool).steps;
  /* denoise in one step is the MMSE estimate, as in the plug-in. */
  if (a->tool == GD_TOOL_DENOISE && p->sampler.steps == 1)
    p->one_step = 1;
  if (a->model_path == NULL)
    a->model_path = gd_model_default_path ();
  return 0;
}

int
main (int argc, char **argv)
{
  cli_args args;
  progress_state progress = { NULL, 0, 0, 0 };
  gd_png png, result;
  gd_image mask = { 0, 0, 0, NULL };
  gd_model *model;
  gd_error err;
  const char *tool;
  double start;
  int status;

  memset (&args, 0, sizeof args);
  gd_task_params_init (&args.params);
  args.sigma_auto = 1;
  status = parse_args (argc, argv, &args);
  if (status != 0)
    return status;
  tool = gd_tool_name (args.tool);

  gd_error_clear (&err);
  gd_set_threads ((int)args.threads);
  if (gd_png_read (args.in_path, &png, &err) != GD_OK)
    {
      fprintf (stderr, PROG ": %s\n", err.message);
      return EXIT_RUN_FAILED;
    }
  if (args.tool == GD_TOOL_INPAINT
      && read_mask (args.mask_path, args.in_path, &png.color, &mask) != 0)
    {
      gd_png_free (&png);
      return EXIT_RUN_FAILED;
    }
  if (args.tool == GD_TOOL_DENOISE && args.sigma_auto)
    {
      /* The core's policy, the plug-in's too: it is printed, and the
       * run takes it as given. */
      args.params.sigma = gd_tool_estimate_sigma (&png.color, &err);
      if (args.params.sigma < 0.0)
        {
          fprintf (stderr, PROG ": %s: %s (--sigma)\n", args.in_path,
                   err.message);
          gd_png_free (&png);
          return EXIT_RUN_FAILED;
        }
      if (!args.quiet)
        fprintf (stderr, "denoise: estimated sigma %.2f (0..255 scale)\n",
                 args.params.sigma);
    }
  model = gd_model_load (args.model_path, &err);
  if (model == NULL)
    {
      fprintf (stderr, PROG ": cannot load the model: %s\n", err.message);
      gd_image_free (&mask);
      gd_png_free (&png);
      return EXIT_RUN_FAILED;
    }

  progress.tool = tool;
  progress.quiet = args.quiet;
  progress.tty = isatty (STDERR_FILENO);
  args.params.task_progress = report_progress;
  args.params.task_progress_data = &progress;
  catch_signals ();
  memset (&result, 0, sizeof result);
  start = now_seconds ();
  status = gd_tool_run (model, args.tool, &args.params, &png.color,
                        args.tool == GD_TOOL_INPAINT ? &mask : NULL,
                        &result.color, &err);
  if (progress.tty && progress.done > 0 && !progress.quiet)
    fputc ('\n', stderr);
  gd_model_free (model);
  gd_image_free (&mask);
  if (status != GD_OK)
    {
      if (status == GD_ERR_CANCELLED && interrupted)
        fprintf (stderr, PROG ": %s: interrupted (%s); nothing written\n", tool,
                 err.message);
      else
        fprintf (stderr, PROG ": %s failed: %s\n", tool, err.message);
      gd_png_free (&png);
      return status == GD_ERR_CANCELLED && interrupted ? 128 + interrupted
                                                       : EXIT_RUN_FAILED;
    }
  if (!args.quiet)
    fprintf (stderr,
             "%s: %d x %d -> %d x %d, %d network evaluations in %.2f s\n", tool,
             png.color.width, png.color.height, result.color.width,
             result.color.height, progress.done, now_seconds () - start);

  /* The alpha and the bit depth of the input go back out unchanged. */
  result.bit_depth = png.bit_depth;
  result.alpha = png.alpha;
  if (png.alpha != NULL && args.tool == GD_TOOL_UPSCALE)
    {
      result.alpha = enlarge_alpha (png.alpha, png.color.width,
                                    png.color.height, args.params.scale);
      if (result.alpha == NULL)
        {
          fprintf (stderr, PROG ": out of memory for the alpha\n");
          gd_png_free (&result);
          gd_png_free (&png);
          return EXIT_RUN_FAILED;
        }
    }
  status = gd_png_write (args.out_path, &result, &err);
  if (result.alpha == png.alpha)
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
