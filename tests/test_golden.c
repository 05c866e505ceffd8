/* test_golden.c: the whole C forward pass against PyTorch's (model.py eps).
 *
 * Usage: test-golden MODEL.safetensors GOLDEN.safetensors [MAX_REL_ERR]
 * The golden file (training/export.py export_golden) holds, per case k,
 * case{k}.input (1, C, H, W), case{k}.t (1,) and case{k}.output.  Every case
 * must match with relative error below MAX_REL_ERR (default 1e-4), both as
 * ||c - ref|| / ||ref|| and as max |c - ref| / max |ref|.
 */
#include "gimp-diffusion.h"
#include "safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *
read_tensor (gd_safetensors *st, const char *name, size_t *numel,
             const gd_st_tensor **out_t)
{
  const gd_st_tensor *t = gd_st_find (st, name);
  gd_error err;
  float *data;

  gd_error_clear (&err);
  if (t == NULL)
    {
      fprintf (stderr, "golden file has no tensor '%s'\n", name);
      return NULL;
    }
  data = malloc ((t->numel ? t->numel : 1) * sizeof *data);
  if (data == NULL || gd_st_read_f32 (st, t, data, &err) != GD_OK)
    {
      fprintf (stderr, "cannot read '%s': %s\n", name, err.message);
      free (data);
      return NULL;
    }
  *numel = t->numel;
  if (out_t != NULL)
    *out_t = t;
  return data;
}

int
main (int argc, char **argv)
{
  const char *model_path, *golden_path, *cases_text;
  double tolerance = 1e-4, worst_rel = 0.0, worst_abs = 0.0;
  gd_model *model;
  gd_safetensors *golden;
  const gd_model_info *info;
  gd_error err;
  int n_cases, k, failures = 0;
  float *first_out = NULL;
  size_t first_n = 0;

  if (argc < 3)
    {
      fprintf (stderr, "usage: %s MODEL GOLDEN [MAX_REL_ERR]\n", argv[0]);
      return 2;
    }
  model_path = argv[1];
  golden_path = argv[2];
  if (argc > 3)
    tolerance = atof (argv[3]);
  gd_error_clear (&err);
  model = gd_model_load (model_path, &err);
  if (model == NULL)
    {
      fprintf (stderr, "FAIL: cannot load model: %s\n", err.message);
      return 1;
    }
  info = gd_model_get_info (model);
  printf ("model %s: %s, base %d, %d levels, %d res blocks, %zu params\n",
          model_path, info->arch, info->base_channels, info->n_levels,
          info->n_res_blocks, info->n_params);
  golden = gd_st_open (golden_path, &err);
  if (golden == NULL)
    {
      fprintf (stderr, "FAIL: cannot open golden file: %s\n", err.message);
      gd_model_free (model);
      return 1;
    }
  cases_text = gd_st_metadata (golden, "cases");
  n_cases = cases_text != NULL ? atoi (cases_text) : 0;
  if (n_cases < 1)
    {
      fprintf (stderr, "FAIL: golden file has no \"cases\" metadata\n");
      failures++;
    }

  for (k = 0; k < n_cases; k++)
    {
      char name[64];
      const gd_st_tensor *tin;
      size_t n_in = 0, n_t = 0, n_ref = 0, i;
      float *input, *tv, *ref, *out;
      double diff2 = 0.0, ref2 = 0.0, max_abs = 0.0, max_ref = 0.0, rel,
             rel_max;
      int width, height, rc;

      snprintf (name, sizeof name, "case%d.input", k);
      input = read_tensor (golden, name, &n_in, &tin);
      snprintf (name, sizeof name, "case%d.t", k);
      tv = read_tensor (golden, name, &n_t, NULL);
      snprintf (name, sizeof name, "case%d.output", k);
      ref = read_tensor (golden, name, &n_ref, NULL);
      if (input == NULL || tv == NULL || ref == NULL || n_t != 1
          || tin->ndim != 4 || tin->shape[0] != 1
          || tin->shape[1] != (uint64_t)info->in_channels || n_ref != n_in)
        {
          fprintf (stderr, "FAIL: case %d: malformed golden tensors\n", k);
          failures++;
          free (input);
          free (tv);
          free (ref);
          continue;
        }
      height = (int)tin->shape[2];
      width = (int)tin->shape[3];
      out = malloc (n_in * sizeof *out);
      if (out == NULL)
        return 1;
      rc = gd_model_eps (model, input, width, height, tv[0], out, &err);
      if (rc != GD_OK)
        {
          fprintf (stderr, "FAIL: case %d: gd_model_eps: %s\n", k, err.message);
          failures++;
        }
      else
        {
          for (i = 0; i < n_in; i++)
            {
              double d = (double)out[i] - (double)ref[i];
              diff2 += d * d;
              ref2 += (double)ref[i] * ref[i];
              if (fabs (d) > max_abs || isnan (d))
                max_abs = isnan (d) ? INFINITY : fabs (d);
              if (fabs (ref[i]) > max_ref)
                max_ref = fabs (ref[i]);
            }
          rel = sqrt (diff2 / (ref2 > 0 ? ref2 : 1e-300));
          rel_max = max_abs / (max_ref > 0 ? max_ref : 1e-300);
          printf ("case %d: %dx%d t=%g: max|ref| %.4g, max abs err %.3g, "
                  "rel err (L2) %.3g, rel err (max) %.3g%s\n",
                  k, width, height, (double)tv[0], max_ref, max_abs, rel,
                  rel_max,
                  rel < tolerance && rel_max < tolerance ? "" : "  FAIL");
          if (!(rel < tolerance && rel_max < tolerance) || max_ref == 0.0)
            failures++;
          if (max_abs > worst_abs)
            worst_abs = max_abs;
          if (rel_max > worst_rel)
            worst_rel = rel_max;
        }
      if (k == 0 && rc == GD_OK)
        {
          first_out = out;
          first_n = n_in;
        }
      else
        free (out);
      free (input);
      free (tv);
      free (ref);
    }

  /* The cached workspace, now sized for another image, must not change a
     result: case 0 again, bit for bit. */
  if (first_out != NULL)
    {
      size_t n_in = 0, n_t = 0;
      const gd_st_tensor *tin;
      float *input = read_tensor (golden, "case0.input", &n_in, &tin);
      float *tv = read_tensor (golden, "case0.t", &n_t, NULL);
      float *again = malloc (first_n * sizeof *again);
      if (input != NULL && tv != NULL && again != NULL
          && gd_model_eps (model, input, (int)tin->shape[3], (int)tin->shape[2],
                           tv[0], again, &err)
                 == GD_OK
          && memcmp (again, first_out, first_n * sizeof *again) == 0)
        printf ("case 0 again: identical\n");
      else
        {
          fprintf (stderr, "FAIL: case 0 rerun differs or fails\n");
          failures++;
        }
      free (input);
      free (tv);
      free (again);
      free (first_out);
    }

  printf ("worst: max abs err %.3g, rel err (max) %.3g; %d failure(s)\n",
          worst_abs, worst_rel, failures);
  gd_st_close (golden);
  gd_model_free (model);
  return failures ? 1 : 0;
}
