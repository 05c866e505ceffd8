/* test_host.c: the host layer on its own (GEGL and GLib, no GIMP): the
 * procedures' arguments and checks, the plans and their refusals, pixels
 * through GEGL buffers on a rectangle, the selection as a mask, the work
 * (progress text and fraction), the preview job, the time estimate.
 *
 *   test-host MODEL (a small model: tests/data/tiny-random.safetensors) */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/check.h"
#include "host.h"

static const char *model_path;

/* ------------------------------------------------------------ procedures */

static void
test_procedures (void)
{
  static const gint n_args[DIFFUSION_N_TOOLS] = { 6, 7, 7, 7 };
  const DiffusionArg *args[DIFFUSION_MAX_ARGS];
  DiffusionVals vals;
  gchar *message, *longname;
  gint tool;

  for (tool = 0; tool < DIFFUSION_N_TOOLS; tool++)
    {
      const DiffusionProcedure *proc = diffusion_procedure_get (tool);
      gint n = diffusion_procedure_args (tool, args);

      CHECK (diffusion_procedure_lookup (proc->proc) == proc, "lookup %s",
             proc->proc);
      CHECK (n == n_args[tool], "%s: %d arguments", proc->proc, n);
      /* The first release's arguments keep their places; fill and
       * precision come after them (a GIMP 2.10 call may leave them out). */
      {
        gint model_at = tool == DIFFUSION_INPAINT ? n - 3 : n - 2, k;

        CHECK (strcmp (args[model_at]->name, "model") == 0
                   && strcmp (args[model_at - 3]->name, "steps") == 0
                   && strcmp (args[n - 1]->name, "precision") == 0
                   && (tool != DIFFUSION_INPAINT
                       || strcmp (args[n - 2]->name, "fill") == 0),
               "%s: the common arguments, then fill and precision", proc->proc);
        for (k = 0; k < n; k++)
          CHECK (diffusion_arg_is_appended (args[k]) == (k > model_at),
                 "%s: %s appended", proc->proc, args[k]->name);
      }
      diffusion_vals_defaults (proc, &vals);
      /* The defaults are the core's, not the plug-in's own. */
      {
        gd_task_params p;
        gd_tool_defaults d;

        gd_tool_params_init (proc->task, &p, NULL);
        gd_tool_defaults_get (GD_TOOL_INPAINT, &d, NULL);
        CHECK (vals.precision == (gint)p.precision && vals.fill == (gint)p.fill
                   && vals.fill == (gint)d.fill,
               "%s: fill %d and precision %d are the core's defaults",
               proc->proc, vals.fill, vals.precision);
      }
      message = diffusion_vals_check (proc, &vals);
      CHECK (message == NULL, "%s: defaults pass: %s", proc->proc, message);
      g_free (message);
    }
  CHECK (diffusion_procedure_lookup ("plug-in-nothing") == NULL, "unknown");

#define REFUSED(tool, field, value)                                            \
  do                                                                           \
    {                                                                          \
      const DiffusionProcedure *p = diffusion_procedure_get (tool);            \
      diffusion_vals_defaults (p, &vals);                                      \
      vals.field = value;                                                      \
      message = diffusion_vals_check (p, &vals);                               \
      CHECK (message != NULL, "%s: %s = %s refused", p->proc, #field, #value); \
      g_free (message);                                                        \
    }                                                                          \
  while (0)
  REFUSED (DIFFUSION_IMG2IMG, strength, 1.5);
  REFUSED (DIFFUSION_INPAINT, strength, -0.1);
  REFUSED (DIFFUSION_UPSCALE, scale, 3);
  REFUSED (DIFFUSION_DENOISE, sigma, 256.0);
  REFUSED (DIFFUSION_DENOISE, ensemble, 3);
  REFUSED (DIFFUSION_IMG2IMG, steps, 0);
  REFUSED (DIFFUSION_IMG2IMG, steps, GD_T_MAX + 1);
#undef REFUSED
  diffusion_vals_defaults (diffusion_procedure_get (DIFFUSION_IMG2IMG), &vals);
  message = diffusion_vals_set_strings (&vals, "bogus", "");
  CHECK (message == NULL, "set_strings");
  g_free (message);
  message = diffusion_vals_check (diffusion_procedure_get (DIFFUSION_IMG2IMG),
                                  &vals);
  CHECK (message != NULL && strstr (message, "bogus") != NULL,
         "unknown sampler refused: %s", message);
  g_free (message);
  longname = g_strnfill (DIFFUSION_PATH_MAX + 1, 'x');
  message = diffusion_vals_set_strings (&vals, "", longname);
  CHECK (message != NULL, "a model path too long is refused");
  g_free (message);
  g_free (longname);
  CHECK (strcmp (diffusion_vals_sampler (&vals), "bogus") == 0, "kept");

  /* The choices: the core's names both ways; an unknown name refused with
   * the names it could be, and the values unchanged. */
  CHECK (diffusion_choice_count (DIFFUSION_ARG_PRECISION) == 2
             && strcmp (diffusion_choice_name (DIFFUSION_ARG_PRECISION,
                                               GD_PRECISION_FAST),
                        "fast")
                    == 0
             && diffusion_choice_name (DIFFUSION_ARG_PRECISION, 2) == NULL
             && diffusion_choice_name (DIFFUSION_ARG_PRECISION, -1) == NULL,
         "precision: exact and fast");
  CHECK (diffusion_choice_count (DIFFUSION_ARG_FILL) >= 2
             && diffusion_choice_from_name (DIFFUSION_ARG_FILL, "patch")
                    == GD_FILL_PATCH
             && diffusion_choice_from_name (DIFFUSION_ARG_FILL, "smooth")
                    == GD_FILL_SMOOTH
             && diffusion_choice_from_name (DIFFUSION_ARG_FILL, "bogus") == -1,
         "fill: the core's names");
  {
    gint kind, value;

    for (kind = DIFFUSION_ARG_FILL; kind <= DIFFUSION_ARG_PRECISION; kind++)
      for (value = 0; value < diffusion_choice_count (kind); value++)
        CHECK (diffusion_choice_label (kind, value) != NULL
                   && strcmp (diffusion_choice_label (kind, value),
                              diffusion_choice_name (kind, value))
                          != 0,
               "choice %d %d has a label of its own", kind, value);
  }
  {
    const DiffusionProcedure *p = diffusion_procedure_get (DIFFUSION_INPAINT);
    DiffusionVals before;

    diffusion_vals_defaults (p, &vals);
    message = diffusion_vals_set_choice (&vals, DIFFUSION_ARG_FILL, "smooth");
    CHECK (message == NULL && vals.fill == GD_FILL_SMOOTH, "fill smooth");
    message
        = diffusion_vals_set_choice (&vals, DIFFUSION_ARG_PRECISION, "fast");
    CHECK (message == NULL && vals.precision == GD_PRECISION_FAST,
           "precision fast");
    message = diffusion_vals_set_choice (&vals, DIFFUSION_ARG_FILL, "");
    CHECK (message == NULL && vals.fill == GD_FILL_SMOOTH, "\"\" keeps it");
    before = vals;
    message = diffusion_vals_set_choice (&vals, DIFFUSION_ARG_FILL, "blur");
    CHECK (message != NULL && strstr (message, "\"blur\"")
               && strstr (message, "\"patch\"")
               && memcmp (&before, &vals, sizeof vals) == 0,
           "fill \"blur\" refused, values unchanged: %s", message);
    g_free (message);
    message
        = diffusion_vals_set_choice (&vals, DIFFUSION_ARG_PRECISION, "half");
    CHECK (message != NULL && strstr (message, "\"exact\" or \"fast\"")
               && memcmp (&before, &vals, sizeof vals) == 0,
           "precision \"half\" refused, values unchanged: %s", message);
    g_free (message);
    vals.precision = 7;
    message = diffusion_vals_check (p, &vals);
    CHECK (message != NULL, "a stored precision 7 refused");
    g_free (message);
    vals = before;
    vals.fill = -1;
    message = diffusion_vals_check (p, &vals);
    CHECK (message != NULL, "a stored fill -1 refused");
    g_free (message);

    /* The task's parameters carry them (work.c). */
    {
      gd_task_params tp;

      vals = before;
      diffusion_task_params (p, &vals, &tp);
      CHECK (tp.fill == GD_FILL_SMOOTH && tp.precision == GD_PRECISION_FAST,
             "task params: fill %d, precision %d", tp.fill, tp.precision);
    }
  }
  vals.sampler[0] = '\0';
  CHECK (strcmp (diffusion_vals_sampler (&vals), DIFFUSION_DEFAULT_SAMPLER)
             == 0,
         "\"\" is ddim");
}

/* ------------------------------------------------------------ plans */

static DiffusionTarget
target_plain (gint width, gint height)
{
  DiffusionTarget t;

  memset (&t, 0, sizeof t);
  t.valid = t.is_layer = t.intersects = TRUE;
  t.width = t.mask_width = width;
  t.height = t.mask_height = height;
  return t;
}

static void
test_plans (void)
{
  DiffusionTarget t;
  DiffusionPlan plan;
  GError *error = NULL;
  gint tool;

  for (tool = 0; tool < DIFFUSION_N_TOOLS; tool++)
    {
      gboolean ok;

      t = target_plain (300, 200);
      ok = diffusion_plan_make (tool, &t, &plan, &error);
      CHECK (ok == (tool != DIFFUSION_INPAINT), "tool %d without selection",
             tool);
      g_clear_error (&error);
      if (ok)
        CHECK (plan.x == 0 && plan.y == 0 && plan.width == 300
                   && plan.height == 200 && plan.work_width == 300
                   && plan.work_height == 200 && !plan.use_mask
                   && plan.image_width == 300 && plan.image_height == 200,
               "tool %d: the whole layer", tool);

#define REFUSES(field, what)                                                   \
  do                                                                           \
    {                                                                          \
      t = target_plain (300, 200);                                             \
      t.field = !t.field;                                                      \
      CHECK (!diffusion_plan_make (tool, &t, &plan, &error) && error != NULL   \
                 && strstr (error->message, what) != NULL,                     \
             "tool %d: " #field " refused (%s)", tool,                         \
             error ? error->message : "accepted");                             \
      g_clear_error (&error);                                                  \
    }                                                                          \
  while (0)
      REFUSES (valid, "No drawable");
      REFUSES (is_group, "layer groups");
      REFUSES (is_indexed, "Indexed");
#undef REFUSES
    }

  /* A selection: the written bounds, with context around them. */
  t = target_plain (300, 200);
  t.has_selection = TRUE;
  t.x = 100;
  t.y = 50;
  t.mask_width = 40;
  t.mask_height = 30;
  CHECK (diffusion_plan_make (DIFFUSION_IMG2IMG, &t, &plan, NULL)
             && plan.use_mask && plan.x == 100 && plan.y == 50
             && plan.width == 40 && plan.height == 30
             && plan.work_x == 100 - DIFFUSION_CONTEXT_MIN && plan.work_y == 0
             && plan.work_width == 40 + 2 * 64
             && plan.work_height == 50 + 30 + 64,
         "img2img with a selection: %d %d %d %d", plan.work_x, plan.work_y,
         plan.work_width, plan.work_height);
  CHECK (diffusion_plan_make (DIFFUSION_INPAINT, &t, &plan, NULL)
             && plan.use_mask,
         "inpaint with a selection");
  CHECK (diffusion_plan_make (DIFFUSION_DENOISE, &t, &plan, NULL)
             && !plan.use_mask && plan.work_x == 36,
         "denoise with a selection: no mask, context");
  CHECK (diffusion_plan_make (DIFFUSION_UPSCALE, &t, &plan, NULL)
             && plan.width == 300 && plan.height == 200,
         "upscale: the whole layer, selection or not");
  t.intersects = FALSE;
  CHECK (!diffusion_plan_make (DIFFUSION_DENOISE, &t, &plan, &error)
             && strstr (error->message, "does not touch"),
         "a selection off the layer");
  g_clear_error (&error);

  t = target_plain (300, 200);
  t.floating = TRUE;
  CHECK (!diffusion_plan_make (DIFFUSION_UPSCALE, &t, &plan, &error)
             && strstr (error->message, "floating"),
         "upscale with a floating selection");
  g_clear_error (&error);
  CHECK (!diffusion_plan_make (DIFFUSION_INPAINT, &t, &plan, &error)
             && strstr (error->message, "floating"),
         "inpaint of a floating selection");
  g_clear_error (&error);
  CHECK (diffusion_plan_make (DIFFUSION_DENOISE, &t, &plan, NULL),
         "denoise of a floating selection");
  t = target_plain (300, 200);
  t.is_layer = FALSE;
  CHECK (!diffusion_plan_make (DIFFUSION_UPSCALE, &t, &plan, &error)
             && strstr (error->message, "layer"),
         "upscale of a channel");
  g_clear_error (&error);
}

/* ------------------------------------------------------------ buffers */

static gfloat
pattern (gint x, gint y, gint c)
{
  return (gfloat)((x * 7 + y * 13 + c * 29) % 256) / 255.0f;
}

static GeglBuffer *
buffer_new (gint width, gint height, const gchar *format, gint channels)
{
  GeglBuffer *buffer = gegl_buffer_new (GEGL_RECTANGLE (0, 0, width, height),
                                        babl_format (format));
  gfloat *pixels = g_new (gfloat, (gsize)width * height * channels);
  gint x, y, c;

  for (y = 0; y < height; y++)
    for (x = 0; x < width; x++)
      for (c = 0; c < channels; c++)
        pixels[((gsize)y * width + x) * channels + c] = pattern (x, y, c);
  /* The pattern is on the 8-bit grid: exact in u8 and float buffers. */
  gegl_buffer_set (buffer, GEGL_RECTANGLE (0, 0, width, height), 0,
                   babl_format (channels == 4   ? "R'G'B'A float"
                                : channels == 3 ? "R'G'B' float"
                                : channels == 2 ? "Y'A float"
                                                : "Y' float"),
                   pixels, GEGL_AUTO_ROWSTRIDE);
  g_free (pixels);
  return buffer;
}

static void
test_buffers (void)
{
  static const struct
  {
    const gchar *format;
    gint channels;
  } kinds[] = {
    { "R'G'B'A u8", 4 }, { "R'G'B' u8", 3 },     { "Y'A u8", 2 },
    { "Y' u8", 1 },      { "R'G'B'A float", 4 }, { "Y' float", 1 },
  };
  guint k;

  for (k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      gint channels = kinds[k].channels;
      gboolean gray = channels <= 2;
      gboolean alpha = channels == 2 || channels == 4;
      gint colors = gray ? 1 : 3;
      GeglBuffer *buffer = buffer_new (40, 30, kinds[k].format, channels);
      GeglBuffer *copy = buffer_new (40, 30, kinds[k].format, channels);
      DiffusionRegion region, back;
      gd_image result;
      gint x, y, c, bad = 0;

      CHECK (diffusion_region_read (buffer, gray, alpha, 5, 4, 20, 10, &region,
                                    NULL),
             "%s: read", kinds[k].format);
      CHECK (region.color.channels == colors && (region.alpha != NULL) == alpha
                 && region.color.width == 20 && region.color.height == 10,
             "%s: the region's shape", kinds[k].format);
      for (y = 0; y < 10; y++)
        for (x = 0; x < 20; x++)
          {
            for (c = 0; c < colors; c++)
              bad += fabsf (region.color.data[(y * 20 + x) * colors + c]
                            - pattern (x + 5, y + 4, c))
                     > 1e-6f;
            if (alpha)
              bad += fabsf (region.alpha[y * 20 + x]
                            - pattern (x + 5, y + 4, colors))
                     > 1e-6f;
          }
      CHECK (bad == 0, "%s: %d values read wrong", kinds[k].format, bad);

      /* Write the inverted colour on a sub-rectangle: only it changes,
       * alpha stays. */
      gd_image_alloc (&result, 20, 10, colors, NULL);
      for (x = 0; x < 20 * 10 * colors; x++)
        result.data[x] = 1.0f - region.color.data[x];
      diffusion_region_write (copy, &region, &result, 8, 6, 10, 5);
      CHECK (
          diffusion_region_read (copy, gray, alpha, 0, 0, 40, 30, &back, NULL),
          "%s: read back", kinds[k].format);
      bad = 0;
      for (y = 0; y < 30; y++)
        for (x = 0; x < 40; x++)
          {
            gboolean inside = x >= 8 && x < 18 && y >= 6 && y < 11;

            for (c = 0; c < colors; c++)
              {
                gfloat want
                    = inside ? 1.0f - pattern (x, y, c) : pattern (x, y, c);

                bad += fabsf (back.color.data[(y * 40 + x) * colors + c] - want)
                       > 1e-6f;
              }
            if (alpha)
              bad += fabsf (back.alpha[y * 40 + x] - pattern (x, y, colors))
                     > 1e-6f;
          }
      CHECK (bad == 0, "%s: %d values written wrong", kinds[k].format, bad);
      diffusion_region_free (&back);
      gd_image_free (&result);
      diffusion_region_free (&region);
      g_object_unref (buffer);
      g_object_unref (copy);
    }
}

static void
test_mask (void)
{
  GeglBuffer *selection = gegl_buffer_new (GEGL_RECTANGLE (0, 0, 50, 50),
                                           babl_format ("Y float"));
  gfloat values[50 * 50];
  gd_image mask;
  gint x, y, bad = 0;

  /* A feathered disc: 1 inside, a ramp, 0 outside. */
  for (y = 0; y < 50; y++)
    for (x = 0; x < 50; x++)
      {
        gfloat r = hypotf (x - 25.0f, y - 25.0f);

        values[y * 50 + x] = CLAMP ((15.0f - r) / 5.0f, 0.0f, 1.0f);
      }
  gegl_buffer_set (selection, GEGL_RECTANGLE (0, 0, 50, 50), 0,
                   babl_format ("Y float"), values, GEGL_AUTO_ROWSTRIDE);
  /* The layer at 10, 5 in the image; its rectangle 3, 2, 30 x 35. */
  CHECK (diffusion_mask_read (selection, 10, 5, 3, 2, 30, 35, &mask, NULL),
         "mask read");
  for (y = 0; y < 35; y++)
    for (x = 0; x < 30; x++)
      {
        gint ix = x + 3 + 10, iy = y + 2 + 5;
        gfloat want = ix < 50 && iy < 50 && values[iy * 50 + ix] > 0.0f;

        bad += mask.data[y * 30 + x] != want;
      }
  CHECK (bad == 0,
         "mask: %d pixels wrong (0 or 1 where the selection is 0 "
         "or not, offsets applied)",
         bad);
  gd_image_free (&mask);
  g_object_unref (selection);
}

/* ------------------------------------------------------------ texts */

static void
test_texts (void)
{
  gd_progress_info info;
  const DiffusionProcedure *proc = diffusion_procedure_get (DIFFUSION_DENOISE);
  DiffusionVals vals;
  gd_model *model;
  gchar *text;

  memset (&info, 0, sizeof info);
  info.step = 2;
  info.steps = 4;
  info.tile = 1;
  info.tiles = 1;
  text = diffusion_progress_text ("Denoise", &info);
  CHECK (strcmp (text, "Denoise: step 2 of 4") == 0, "progress: %s", text);
  g_free (text);
  info.tile = 3;
  info.tiles = 5;
  text = diffusion_progress_text ("Denoise", &info);
  CHECK (strcmp (text, "Denoise: step 2 of 4, tile 3 of 5") == 0,
         "progress: %s", text);
  g_free (text);

  diffusion_vals_defaults (proc, &vals);
  text = diffusion_estimate_text (proc, &vals, NULL, 64, 64, 10.0, 0.0);
  CHECK (strstr (text, "No model") != NULL, "estimate without model: %s", text);
  g_free (text);
  model = diffusion_model_load (model_path, NULL);
  CHECK (model != NULL, "load %s", model_path);
  if (model == NULL)
    return;
  text = diffusion_estimate_text (proc, &vals, model, 64, 64, 10.0, 0.0);
  CHECK (strstr (text, "network evaluation") && strstr (text, "measuring"),
         "estimate before the speed is known: %s", text);
  g_free (text);
  text = diffusion_estimate_text (proc, &vals, model, 64, 64, 10.0, 1e-3);
  CHECK (strstr (text, "About") || strstr (text, "Under a second"),
         "estimate: %s", text);
  g_free (text);
  gd_model_free (model);
}

/* ------------------------------------------------------------ work */

typedef struct
{
  gint texts;
  gdouble last;
  gboolean loading;
} ProgressSeen;

static void
seen_text (gpointer data, const gchar *text)
{
  ProgressSeen *seen = data;

  seen->texts++;
  if (strstr (text, "loading the model"))
    seen->loading = TRUE;
}

static void
seen_fraction (gpointer data, gdouble fraction)
{
  ((ProgressSeen *)data)->last = fraction;
}

static gboolean
images_equal (const gd_image *a, const gd_image *b)
{
  return a->width == b->width && a->height == b->height
         && a->channels == b->channels
         && memcmp (a->data, b->data,
                    sizeof (float) * a->width * a->height * a->channels)
                == 0;
}

static void
test_work (void)
{
  const DiffusionProcedure *proc = diffusion_procedure_get (DIFFUSION_IMG2IMG);
  GeglBuffer *buffer = buffer_new (48, 40, "R'G'B'A u8", 4);
  GeglBuffer *selection = gegl_buffer_new (GEGL_RECTANGLE (0, 0, 48, 40),
                                           babl_format ("Y float"));
  ProgressSeen seen = { 0, 0.0, FALSE };
  DiffusionProgress progress = { seen_text, seen_fraction, &seen };
  DiffusionSource source = { buffer, FALSE, TRUE, NULL, 0, 0 };
  DiffusionTarget target = target_plain (48, 40);
  DiffusionRegion region, region2;
  DiffusionPlan plan;
  DiffusionVals vals;
  DiffusionJob *job;
  gd_image result, result2;
  gd_model *model;
  GError *error = NULL;

  diffusion_vals_defaults (proc, &vals);
  vals.steps = 3;
  vals.strength = 0.5;
  vals.seed = 7;
  g_strlcpy (vals.model, model_path, sizeof vals.model);
  diffusion_plan_make (proc->tool, &target, &plan, NULL);
  CHECK (diffusion_work (proc, &vals, &plan, &source, &progress, &region,
                         &result, &error),
         "work: %s", error ? error->message : "");
  g_clear_error (&error);
  CHECK (seen.loading && seen.texts >= 2 && fabs (seen.last - 1.0) < 1e-9,
         "progress: %d texts, last fraction %g", seen.texts, seen.last);
  CHECK (diffusion_work (proc, &vals, &plan, &source, NULL, &region2, &result2,
                         NULL)
             && images_equal (&result, &result2),
         "the same seed gives the same pixels");
  gd_image_free (&result2);
  diffusion_region_free (&region2);

  /* The preview job on the same region is the run. */
  model = diffusion_model_load (vals.model, NULL);
  job = diffusion_job_new (DIFFUSION_JOB_PREVIEW, proc, &vals, model);
  diffusion_region_read (buffer, FALSE, TRUE, 0, 0, 48, 40, &job->region, NULL);
  diffusion_job_start (job);
  while (!diffusion_job_finished (job))
    g_usleep (1000);
  CHECK (job->error == NULL && images_equal (&job->out, &result),
         "the preview job's pixels are the run's");
  diffusion_job_free (job);

  /* A selection steers img2img (inpainting at the strength). */
  {
    gfloat ones[20 * 10];
    gint i;

    for (i = 0; i < 200; i++)
      ones[i] = 1.0f;
    gegl_buffer_set (selection, GEGL_RECTANGLE (14, 15, 20, 10), 0,
                     babl_format ("Y float"), ones, GEGL_AUTO_ROWSTRIDE);
    target.has_selection = TRUE;
    target.x = 14;
    target.y = 15;
    target.mask_width = 20;
    target.mask_height = 10;
    diffusion_plan_make (proc->tool, &target, &plan, NULL);
    source.selection = selection;
    CHECK (plan.use_mask
               && diffusion_work (proc, &vals, &plan, &source, NULL, &region2,
                                  &result2, &error),
           "work with a mask: %s", error ? error->message : "");
    g_clear_error (&error);
    gd_image_free (&result2);
    diffusion_region_free (&region2);
  }

  /* A model that is not there: a message naming it. */
  g_strlcpy (vals.model, "/nonexistent.safetensors", sizeof vals.model);
  CHECK (!diffusion_work (proc, &vals, &plan, &source, NULL, &region2, &result2,
                          &error)
             && strstr (error->message, "/nonexistent.safetensors"),
         "a missing model is named");
  g_clear_error (&error);

  gd_model_free (model);
  gd_image_free (&result);
  diffusion_region_free (&region);
  g_object_unref (buffer);
  g_object_unref (selection);
}

static void
test_model_path (void)
{
  gchar *path;

  path = diffusion_model_path_resolve ("/x/y.safetensors");
  CHECK (strcmp (path, "/x/y.safetensors") == 0, "a path is kept");
  g_free (path);
  g_setenv ("GD_MODEL_DIR", "/somewhere", TRUE);
  path = diffusion_model_path_resolve ("");
  CHECK (g_str_has_prefix (path, "/somewhere/"), "GD_MODEL_DIR: %s", path);
  g_free (path);
  g_unsetenv ("GD_MODEL_DIR");
}

int
main (int argc, char **argv)
{
  if (argc != 2)
    {
      fprintf (stderr, "usage: test-host MODEL\n");
      return 2;
    }
  model_path = argv[1];
  gegl_init (NULL, NULL);
  test_procedures ();
  test_plans ();
  test_buffers ();
  test_mask ();
  test_texts ();
  test_work ();
  test_model_path ();
  gegl_exit ();
  if (failures)
    fprintf (stderr, "%d failures\n", failures);
  else
    printf ("test-host: all passed\n");
  return failures ? 1 : 0;
}
