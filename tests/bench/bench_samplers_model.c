/* bench_samplers_model.c: every sampler's distance to the finest DDIM with
 * the trained model, img2img (gd_img2img) on centre crops of evaluation
 * photographs.  The closed-form counterpart is bench_samplers.c.
 *
 * For each image and strength, every run starts from the same x_t0 (one
 * seed: q(x_t0 | x0) takes its noise from GD_RNG_STREAM_START), and the
 * reference is ddim with eta 0 through every integer timestep t0, t0 - 1,
 * ..., 1 (trailing spacing with t0 steps): at strength 1 a 1000-step DDIM.
 * Prints Markdown tables of the RMSE on the 0..255 scale between each run's
 * output and the reference, averaged over the images.
 *
 * Usage: bench_samplers_model [OPTIONS]   (from the top of the source tree)
 *   --model PATH      default models/default.safetensors
 *   --eval DIR        default ../shared/data/eval
 *   --images LIST     comma-separated, relative to DIR (default: one
 *                     Kodak24, one CBSD68, one Set14 image)
 *   --size N          side of the centre crop (default 96)
 *   --strengths LIST  default 1,0.5
 *   --nfe LIST        default 5,10,20,50
 *   --samplers LIST   only the rows of these samplers (default: all but
 *                     ddpm); ddpm takes every step (NFE = t0)
 *   --ddpm            also ddpm
 *   --seed N          default 1
 *   --threads N       default 2 */
#include "gimp-diffusion.h"
#include "png-io.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LIST 16

typedef struct
{
  const char *label;
  const char *sampler;
  double eta;
  gd_spacing spacing;
  int stochastic; /* does not converge to the ODE's solution */
} row;

static const row rows[] = {
  { "ddim (eta 0), trailing", "ddim", 0.0, GD_SPACING_DEFAULT, 0 },
  { "ddim (eta 0), lambda", "ddim", 0.0, GD_SPACING_LAMBDA, 0 },
  { "dpm-solver-2, lambda", "dpm-solver-2", 0.0, GD_SPACING_DEFAULT, 0 },
  { "dpm-solver-3, lambda", "dpm-solver-3", 0.0, GD_SPACING_DEFAULT, 0 },
  { "dpm-solver++2m, lambda", "dpm-solver++2m", 0.0, GD_SPACING_DEFAULT, 0 },
  { "ddim (eta 1), trailing (stochastic)", "ddim", 1.0, GD_SPACING_DEFAULT, 1 },
  { "skip-step, trailing (stochastic)", "skip-step", 0.0, GD_SPACING_DEFAULT,
    1 },
};
#define N_ROWS ((int)(sizeof rows / sizeof *rows))

static const char *const default_images[] = {
  "Kodak24/kodim03.png",
  "CBSD68/101085.png",
  "Set14/barbara.png",
};

typedef struct
{
  const char *model;
  const char *eval_dir;
  const char *images[MAX_LIST];
  int n_images;
  int size;
  double strengths[MAX_LIST];
  int n_strengths;
  int nfe[MAX_LIST];
  int n_nfe;
  int ddpm;
  int row_on[N_ROWS];
  uint64_t seed;
  int threads;
} options;

/* Sums over the images, per strength. */
typedef struct
{
  double rmse[N_ROWS][MAX_LIST];
  double psnr[N_ROWS][MAX_LIST];
  int nfe[N_ROWS][MAX_LIST]; /* as gd_sampler_nfe counts them */
  double ddpm_rmse, ddpm_psnr;
  double ref_vs_input; /* RMSE of the reference against the input crop */
  int t0;
} totals;

static double
now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* RMSE on the 0..255 scale between two images of one size. */
static double
rmse_255 (const gd_image *a, const gd_image *b)
{
  size_t n = (size_t)a->width * a->height * a->channels;
  double sum = 0.0;

  for (size_t i = 0; i < n; i++)
    {
      double d = 255.0 * ((double)a->data[i] - b->data[i]);

      sum += d * d;
    }
  return sqrt (sum / (double)n);
}

static double
psnr_of (double rmse)
{
  return rmse > 0.0 ? 20.0 * log10 (255.0 / rmse) : INFINITY;
}

/* Splits a comma-separated list in place; returns the count or -1. */
static int
split_list (char *s, char **out, int max)
{
  int n = 0;

  for (char *tok = strtok (s, ","); tok != NULL; tok = strtok (NULL, ","))
    {
      if (n == max)
        return -1;
      out[n++] = tok;
    }
  return n;
}

static int
parse_args (int argc, char **argv, options *o)
{
  static const struct option longopts[]
      = { { "model", required_argument, NULL, 'm' },
          { "eval", required_argument, NULL, 'e' },
          { "images", required_argument, NULL, 'i' },
          { "size", required_argument, NULL, 's' },
          { "strengths", required_argument, NULL, 'S' },
          { "nfe", required_argument, NULL, 'n' },
          { "samplers", required_argument, NULL, 'a' },
          { "ddpm", no_argument, NULL, 'd' },
          { "seed", required_argument, NULL, 'r' },
          { "threads", required_argument, NULL, 't' },
          { NULL, 0, NULL, 0 } };
  char *items[MAX_LIST];
  int c, n;

  while ((c = getopt_long (argc, argv, "", longopts, NULL)) != -1)
    switch (c)
      {
      case 'm':
        o->model = optarg;
        break;
      case 'e':
        o->eval_dir = optarg;
        break;
      case 'i':
        n = split_list (optarg, items, MAX_LIST);
        if (n < 1)
          return -1;
        for (int k = 0; k < n; k++)
          o->images[k] = items[k];
        o->n_images = n;
        break;
      case 's':
        o->size = atoi (optarg);
        if (o->size < 8)
          return -1;
        break;
      case 'S':
        n = split_list (optarg, items, MAX_LIST);
        if (n < 1)
          return -1;
        for (int k = 0; k < n; k++)
          {
            o->strengths[k] = atof (items[k]);
            if (!(o->strengths[k] > 0.0 && o->strengths[k] <= 1.0))
              return -1;
          }
        o->n_strengths = n;
        break;
      case 'n':
        n = split_list (optarg, items, MAX_LIST);
        if (n < 1)
          return -1;
        for (int k = 0; k < n; k++)
          {
            o->nfe[k] = atoi (items[k]);
            if (o->nfe[k] < 1 || o->nfe[k] > GD_T_MAX)
              return -1;
          }
        o->n_nfe = n;
        break;
      case 'a':
        n = split_list (optarg, items, MAX_LIST);
        if (n < 1)
          return -1;
        o->ddpm = 0;
        for (int k = 0; k < N_ROWS; k++)
          o->row_on[k] = 0;
        for (int i = 0; i < n; i++)
          {
            int known = strcmp (items[i], "ddpm") == 0;

            o->ddpm |= known;
            for (int k = 0; k < N_ROWS; k++)
              if (strcmp (items[i], rows[k].sampler) == 0)
                o->row_on[k] = known = 1;
            if (!known)
              return -1;
          }
        break;
      case 'd':
        o->ddpm = 1;
        break;
      case 'r':
        o->seed = strtoull (optarg, NULL, 10);
        break;
      case 't':
        o->threads = atoi (optarg);
        break;
      default:
        return -1;
      }
  return optind == argc ? 0 : -1;
}

/* The size x size centre crop of in (same channels), or -1 when in is
 * smaller. */
static int
centre_crop (const gd_image *in, int size, gd_image *out, gd_error *err)
{
  int x0 = (in->width - size) / 2, y0 = (in->height - size) / 2;
  int ch = in->channels;

  if (in->width < size || in->height < size)
    return gd_error_set (err, GD_ERR_INVALID,
                         "the image is %d x %d, smaller than the crop %d",
                         in->width, in->height, size);
  if (gd_image_alloc (out, size, size, ch, err) != GD_OK)
    return err->status;
  for (int y = 0; y < size; y++)
    memcpy (out->data + (size_t)y * size * ch,
            in->data + ((size_t)(y0 + y) * in->width + x0) * ch,
            (size_t)size * ch * sizeof (float));
  return GD_OK;
}

/* One img2img run; exits on failure (a benchmark has no one to recover). */
static void
run_img2img (gd_model *model, const options *o, double strength,
             const char *sampler, double eta, gd_spacing spacing, int steps,
             const gd_image *in, gd_image *out)
{
  gd_task_params p;
  gd_error err;

  gd_task_params_init (&p);
  p.strength = strength;
  gd_sampler_from_name (sampler, &p.sampler.kind, NULL);
  p.sampler.eta = eta;
  p.sampler.spacing = spacing;
  p.sampler.steps = steps;
  p.sampler.seed = o->seed;
  gd_error_clear (&err);
  if (gd_img2img (model, &p, in, out, &err) != GD_OK)
    {
      fprintf (stderr, "img2img (%s, %d steps): %s\n", sampler, steps,
               err.message);
      exit (1);
    }
}

/* Least-squares slope of -log(rmse) against log(nfe): the measured order. */
static double
fit_order (const double *rmse, const int *nfe, int n)
{
  double sx = 0, sy = 0, sxx = 0, sxy = 0;

  for (int j = 0; j < n; j++)
    {
      double x = log ((double)nfe[j]), y = -log (rmse[j]);

      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
    }
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

static void
print_table (const options *o, const totals *tot, double strength)
{
  int n_img = o->n_images;

  printf ("\nimg2img at strength %g (t0 = %d); reference: ddim (eta 0) "
          "through every timestep %d, %d, ..., 1 (%d NFE), which moves the "
          "input crop by RMSE %.2f. RMSE to the reference on the 0..255 "
          "scale, mean over %d image%s (in brackets: mean PSNR against the "
          "reference, dB):\n\n",
          strength, tot->t0, tot->t0, tot->t0 - 1, tot->t0,
          tot->ref_vs_input / n_img, n_img, n_img == 1 ? "" : "s");
  printf ("| sampler |");
  for (int j = 0; j < o->n_nfe; j++)
    printf (" NFE %d |", o->nfe[j]);
  printf (" order (fit) |\n|---|");
  for (int j = 0; j < o->n_nfe; j++)
    printf ("---|");
  printf ("---|\n");
  for (int k = 0; k < N_ROWS; k++)
    {
      double mean[MAX_LIST];

      if (!o->row_on[k])
        continue;
      printf ("| %s |", rows[k].label);
      for (int j = 0; j < o->n_nfe; j++)
        {
          mean[j] = tot->rmse[k][j] / n_img;
          printf (" %.3g (%.1f)", mean[j], tot->psnr[k][j] / n_img);
          if (tot->nfe[k][j] != o->nfe[j])
            printf (" [NFE %d]", tot->nfe[k][j]);
          printf (" |");
        }
      if (rows[k].stochastic || o->n_nfe < 2)
        printf (" - |\n");
      else
        printf (" %.2f |\n", fit_order (mean, tot->nfe[k], o->n_nfe));
    }
  if (o->ddpm)
    printf ("\nddpm (stochastic; every step, NFE = t0 = %d): RMSE %.3g "
            "(%.1f dB).\n",
            tot->t0, tot->ddpm_rmse / n_img, tot->ddpm_psnr / n_img);
}

int
main (int argc, char **argv)
{
  options o = {
    .model = "models/default.safetensors",
    .eval_dir = "../shared/data/eval",
    .n_images = 3,
    .size = 96,
    .strengths = { 1.0, 0.5 },
    .n_strengths = 2,
    .nfe = { 5, 10, 20, 50 },
    .n_nfe = 4,
    .seed = 1,
    .threads = 2,
  };
  static totals tot[MAX_LIST];
  gd_model *model;
  gd_error err;
  double start = now ();
  long total_evals = 0;

  for (int i = 0; i < 3; i++)
    o.images[i] = default_images[i];
  for (int k = 0; k < N_ROWS; k++)
    o.row_on[k] = 1;
  if (parse_args (argc, argv, &o) != 0)
    {
      fprintf (stderr,
               "usage: %s [--model PATH] [--eval DIR] [--images A,B,...] "
               "[--size N] [--strengths S,...] [--nfe N,...] "
               "[--samplers NAME,...] [--ddpm] "
               "[--seed N] [--threads N]\n",
               argv[0]);
      return 2;
    }
  gd_set_threads (o.threads);
  gd_error_clear (&err);
  model = gd_model_load (o.model, &err);
  if (model == NULL)
    {
      fprintf (stderr, "%s\n", err.message);
      return 1;
    }

  for (int f = 0; f < o.n_images; f++)
    {
      char path[4096];
      gd_png png;
      gd_image crop = { 0, 0, 0, NULL }, ref, out;
      double image_start = now ();
      long image_evals = 0;

      snprintf (path, sizeof path, "%s/%s", o.eval_dir, o.images[f]);
      if (gd_png_read (path, &png, &err) != GD_OK
          || centre_crop (&png.color, o.size, &crop, &err) != GD_OK)
        {
          fprintf (stderr, "%s: %s\n", path, err.message);
          return 1;
        }
      gd_png_free (&png);

      for (int s = 0; s < o.n_strengths; s++)
        {
          const gd_schedule *sched = &gd_model_get_info (model)->schedule;
          /* As gd_img2img's t0 (at least 1). */
          int t0 = o.strengths[s] * sched->T < 1.5
                       ? 1
                       : (int)lround (o.strengths[s] * sched->T);
          totals *ts = &tot[s];

          /* Trailing with t0 steps: t_i = i, every integer timestep. */
          run_img2img (model, &o, o.strengths[s], "ddim", 0.0,
                       GD_SPACING_TRAILING, t0, &crop, &ref);
          image_evals += t0;
          ts->t0 = t0;
          ts->ref_vs_input += rmse_255 (&ref, &crop);

          for (int k = 0; k < N_ROWS; k++)
            for (int j = 0; j < o.n_nfe && o.row_on[k]; j++)
              {
                gd_sampler_params sp;
                double e;

                run_img2img (model, &o, o.strengths[s], rows[k].sampler,
                             rows[k].eta, rows[k].spacing, o.nfe[j], &crop,
                             &out);
                gd_sampler_params_init (&sp);
                gd_sampler_from_name (rows[k].sampler, &sp.kind, NULL);
                sp.steps = o.nfe[j];
                ts->nfe[k][j] = gd_sampler_nfe (&sp, t0);
                image_evals += ts->nfe[k][j];
                e = rmse_255 (&out, &ref);
                ts->rmse[k][j] += e;
                ts->psnr[k][j] += psnr_of (e);
                gd_image_free (&out);
              }
          if (o.ddpm)
            {
              double e;

              run_img2img (model, &o, o.strengths[s], "ddpm", 0.0,
                           GD_SPACING_DEFAULT, 1, &crop, &out);
              image_evals += t0;
              e = rmse_255 (&out, &ref);
              ts->ddpm_rmse += e;
              ts->ddpm_psnr += psnr_of (e);
              gd_image_free (&out);
            }
          gd_image_free (&ref);
        }
      gd_image_free (&crop);
      total_evals += image_evals;
      fprintf (stderr, "%s: %d x %d crop, %ld network evaluations, %.0f s\n",
               o.images[f], o.size, o.size, image_evals, now () - image_start);
    }

  printf ("Model %s, %d x %d centre crops of", o.model, o.size, o.size);
  for (int f = 0; f < o.n_images; f++)
    printf ("%s %s", f == 0 ? "" : ",", o.images[f]);
  printf (" (in %s), seed %llu.\n", o.eval_dir, (unsigned long long)o.seed);
  for (int s = 0; s < o.n_strengths; s++)
    print_table (&o, &tot[s], o.strengths[s]);
  printf ("\n(%ld network evaluations in %.0f s, %.1f s per image; "
          "%d thread(s))\n",
          total_evals, now () - start, (now () - start) / o.n_images,
          o.threads);
  gd_model_free (model);
  return 0;
}
