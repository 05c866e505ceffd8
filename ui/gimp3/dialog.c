/* dialog.c: the GIMP 3 dialogs: a GimpProcedureDialog per tool, built
 * from the procedure's arguments (so GIMP keeps the last values), with a
 * sampler list, the preview (the tool run on the visible region in a
 * background thread: the host layer's preview job) and the time estimate
 * as custom widgets. */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "dialog.h"

/* How often the dialog looks at the background work (ms). */
#define DIFFUSION_POLL_MS 120

typedef struct
{
  const DiffusionProcedure *proc;
  GimpProcedureConfig *config;
  DiffusionVals vals;
  GimpImage *image;
  GimpDrawable *drawable;
  DiffusionPlan plan;

  GtkWidget *dialog;
  GtkWidget *preview;
  GtkWidget *preview_label;
  GtkWidget *estimate_label;
  GtkWidget *sampler;
  GtkWidget *fill; /* inpaint's fill list, or NULL */

  gd_model *model;
  gchar *model_name;           /* what `model` was loaded for */
  gint32 calibrated_precision; /* the precision the speed was measured at */
  gchar *model_error;
  gdouble seconds_per_pixel;
  gdouble sigma;

  DiffusionJob *job;
  gboolean calibrated;
  gboolean want_preview;
  DiffusionJob *shown;
  gboolean preview_ended;
  gboolean shown_valid;
  guint poll_id;

  const gchar *test_dir;
  gboolean test_done;
  gint64 test_deadline;
  gint64 test_snap_at;
} DiffusionDialog;

static void
diffusion_dialog_stop_jobs (DiffusionDialog *d)
{
  diffusion_job_free (d->job);
  d->job = NULL;
  diffusion_job_free (d->shown);
  d->shown = NULL;
  d->shown_valid = FALSE;
}

static void
diffusion_dialog_estimate_update (DiffusionDialog *d)
{
  gchar *text;

  if (d->model_error != NULL)
    text = g_strdup (d->model_error);
  else
    text = diffusion_estimate_text (d->proc, &d->vals, d->model,
                                    d->plan.work_width, d->plan.work_height,
                                    d->sigma, d->seconds_per_pixel);
  gtk_label_set_text (GTK_LABEL (d->estimate_label), text);
  g_free (text);
}

static void
diffusion_dialog_job_start (DiffusionDialog *d, DiffusionJob *job)
{
  g_return_if_fail (d->job == NULL);
  d->job = job;
  diffusion_job_start (job);
}

/* (Re)loads the model the values name, then measures its speed. */
static void
diffusion_dialog_model_load (DiffusionDialog *d)
{
  GError *error = NULL;

  diffusion_dialog_stop_jobs (d);
  if (d->model != NULL)
    gd_model_free (d->model);
  g_clear_pointer (&d->model_error, g_free);
  g_free (d->model_name);
  d->model_name = g_strdup (d->vals.model);
  d->calibrated_precision = d->vals.precision;
  d->seconds_per_pixel = 0.0;
  d->calibrated = FALSE;

  d->model = diffusion_model_load (d->vals.model, &error);
  if (d->model == NULL)
    {
      d->model_error = g_strdup (error->message);
      g_error_free (error);
      d->calibrated = TRUE;
    }
  else
    diffusion_dialog_job_start (d, diffusion_job_new (DIFFUSION_JOB_CALIBRATE,
                                                      d->proc, &d->vals,
                                                      d->model));
  diffusion_dialog_estimate_update (d);
}

static gboolean
diffusion_dialog_read (DiffusionDialog *d, gint x, gint y, gint width,
                       gint height, DiffusionRegion *region, GError **error)
{
  GeglBuffer *buffer = gimp_drawable_get_buffer (d->drawable);
  gboolean ok
      = diffusion_region_read (buffer, gimp_drawable_is_gray (d->drawable),
                               gimp_drawable_has_alpha (d->drawable), x, y,
                               width, height, region, error);

  g_object_unref (buffer);
  return ok;
}

static gboolean
diffusion_dialog_mask_read (DiffusionDialog *d, gint x, gint y, gint width,
                            gint height, gd_image *mask, GError **error)
{
  GeglBuffer *buffer = gimp_drawable_get_buffer (
      GIMP_DRAWABLE (gimp_image_get_selection (d->image)));
  gint offset_x, offset_y;
  gboolean ok;

  gimp_drawable_get_offsets (d->drawable, &offset_x, &offset_y);
  ok = diffusion_mask_read (buffer, offset_x, offset_y, x, y, width, height,
                            mask, error);
  g_object_unref (buffer);
  return ok;
}

/* ---------------------------------------------------------------- preview */

static void
diffusion_dialog_preview_rect (DiffusionDialog *d, gint *x, gint *y,
                               gint *width, gint *height)
{
  gint px, py, pw, ph;

  gimp_preview_get_position (GIMP_PREVIEW (d->preview), &px, &py);
  gimp_preview_get_size (GIMP_PREVIEW (d->preview), &pw, &ph);
  diffusion_preview_rect (d->proc, &d->vals, &d->plan, px, py, pw, ph, x, y,
                          width, height);
}

static gboolean
diffusion_dialog_shown_covers (DiffusionDialog *d)
{
  gint x, y, width, height, px, py, pw, ph, x1, y1, x2, y2;
  const DiffusionRegion *r;

  if (d->shown == NULL || !d->shown_valid)
    return FALSE;
  r = &d->shown->region;
  diffusion_dialog_preview_rect (d, &x, &y, &width, &height);
  if (d->proc->tool == DIFFUSION_UPSCALE)
    return r->x == x && r->y == y && r->width == width && r->height == height;
  gimp_preview_get_position (GIMP_PREVIEW (d->preview), &px, &py);
  gimp_preview_get_size (GIMP_PREVIEW (d->preview), &pw, &ph);
  x1 = MAX (px, d->plan.work_x);
  y1 = MAX (py, d->plan.work_y);
  x2 = MIN (px + pw, d->plan.work_x + d->plan.work_width);
  y2 = MIN (py + ph, d->plan.work_y + d->plan.work_height);
  return x2 <= x1 || y2 <= y1
         || (x1 >= r->x && y1 >= r->y && x2 <= r->x + r->width
             && y2 <= r->y + r->height);
}

static void
diffusion_dialog_preview_draw (DiffusionDialog *d)
{
  DiffusionRegion visible;
  gint px, py, pw, ph, bpp;
  guchar *buf;

  gimp_preview_get_position (GIMP_PREVIEW (d->preview), &px, &py);
  gimp_preview_get_size (GIMP_PREVIEW (d->preview), &pw, &ph);
  if (pw <= 0 || ph <= 0)
    return;
  if (d->proc->tool == DIFFUSION_UPSCALE)
    {
      buf = diffusion_preview_pixels (d->shown, &d->plan, NULL, px, py, pw, ph,
                                      &bpp);
      gimp_preview_area_draw (
          GIMP_PREVIEW_AREA (gimp_preview_get_area (GIMP_PREVIEW (d->preview))),
          0, 0, pw, ph, gimp_drawable_type (d->drawable), buf, pw * bpp);
      g_free (buf);
      return;
    }
  if (!diffusion_dialog_read (d, px, py, pw, ph, &visible, NULL))
    return;
  buf = diffusion_preview_pixels (d->shown, &d->plan, &visible, px, py, pw, ph,
                                  &bpp);
  gimp_preview_draw_buffer (GIMP_PREVIEW (d->preview), buf, pw * bpp);
  diffusion_region_free (&visible);
  g_free (buf);
}

static void
diffusion_dialog_preview_start (DiffusionDialog *d)
{
  DiffusionJob *job;
  GError *error = NULL;
  gint x, y, width, height;

  d->want_preview = FALSE;
  diffusion_dialog_preview_rect (d, &x, &y, &width, &height);
  if (width <= 0 || height <= 0)
    return;
  job = diffusion_job_new (DIFFUSION_JOB_PREVIEW, d->proc, &d->vals, d->model);
  job->image_width = d->plan.image_width;
  job->image_height = d->plan.image_height;
  job->sigma = d->sigma;
  if (!diffusion_dialog_read (d, x, y, width, height, &job->region, &error)
      || (d->plan.use_mask
          && !diffusion_dialog_mask_read (d, x, y, width, height, &job->mask,
                                          &error)))
    {
      gtk_label_set_text (GTK_LABEL (d->preview_label), error->message);
      g_error_free (error);
      diffusion_job_free (job);
      return;
    }
  gtk_label_set_text (GTK_LABEL (d->preview_label), _ ("Preview: starting"));
  diffusion_dialog_job_start (d, job);
}

static void
diffusion_dialog_preview_request (DiffusionDialog *d)
{
  if (!gimp_preview_get_update (GIMP_PREVIEW (d->preview)))
    {
      d->want_preview = FALSE;
      if (d->job != NULL && d->job->kind == DIFFUSION_JOB_PREVIEW)
        diffusion_job_cancel (d->job);
      gtk_label_set_text (GTK_LABEL (d->preview_label), _ ("Preview: off"));
      d->preview_ended = TRUE;
      return;
    }
  if (d->model == NULL)
    {
      gtk_label_set_text (GTK_LABEL (d->preview_label), d->model_error);
      return;
    }
  if (diffusion_dialog_shown_covers (d))
    {
      diffusion_dialog_preview_draw (d);
      return;
    }
  d->want_preview = TRUE;
  if (d->job != NULL)
    {
      if (d->job->kind == DIFFUSION_JOB_PREVIEW)
        diffusion_job_cancel (d->job);
      return;
    }
  diffusion_dialog_preview_start (d);
}

static void
diffusion_dialog_job_done (DiffusionDialog *d)
{
  DiffusionJob *job = d->job;
  gchar *text;

  d->job = NULL;
  if (job->kind == DIFFUSION_JOB_CALIBRATE)
    {
      if (job->error == NULL && job->pixel_evaluations > 0.0)
        d->seconds_per_pixel = job->seconds / job->pixel_evaluations;
      d->calibrated = TRUE;
      diffusion_dialog_estimate_update (d);
      diffusion_job_free (job);
      return;
    }
  if (job->error != NULL)
    {
      d->preview_ended = !d->want_preview;
      if (!g_atomic_int_get (&job->cancel))
        gtk_label_set_text (GTK_LABEL (d->preview_label), job->error->message);
      diffusion_job_free (job);
      return;
    }
  if (job->pixel_evaluations > 0.0)
    {
      d->seconds_per_pixel = job->seconds / job->pixel_evaluations;
      diffusion_dialog_estimate_update (d);
    }
  diffusion_job_free (d->shown);
  d->shown = job;
  d->shown_valid = !d->want_preview;
  d->preview_ended = d->shown_valid;
  text = g_strdup_printf (_ ("Preview: done in %.1f s"), job->seconds);
  gtk_label_set_text (GTK_LABEL (d->preview_label), text);
  g_free (text);
  if (d->shown_valid && gimp_preview_get_update (GIMP_PREVIEW (d->preview)))
    diffusion_dialog_preview_draw (d);
}

static void diffusion_dialog_test_snapshot (DiffusionDialog *d);

static gboolean
diffusion_dialog_poll (gpointer data)
{
  DiffusionDialog *d = data;

  if (d->job != NULL && diffusion_job_finished (d->job))
    diffusion_dialog_job_done (d);
  if (d->job == NULL && d->want_preview && d->model != NULL)
    diffusion_dialog_preview_start (d);
  if (d->job != NULL && d->job->kind == DIFFUSION_JOB_PREVIEW)
    {
      gd_progress_info info;

      diffusion_job_get_info (d->job, &info);
      if (info.steps > 0)
        {
          gchar *text = diffusion_progress_text (_ ("Preview"), &info);

          gtk_label_set_text (GTK_LABEL (d->preview_label), text);
          g_free (text);
        }
    }
  if (d->test_dir != NULL && !d->test_done && d->test_snap_at == 0
      && ((d->job == NULL && !d->want_preview && d->calibrated
           && (d->preview_ended || d->model == NULL))
          || g_get_monotonic_time () > d->test_deadline))
    {
      gtk_window_present (GTK_WINDOW (d->dialog));
      gtk_widget_queue_draw (d->dialog);
      d->test_snap_at = g_get_monotonic_time () + G_TIME_SPAN_SECOND;
    }
  else if (d->test_snap_at != 0 && !d->test_done
           && g_get_monotonic_time () > d->test_snap_at)
    diffusion_dialog_test_snapshot (d);
  return G_SOURCE_CONTINUE;
}

/* ---------------------------------------------------------------- values */

/* Any argument changed in the dialog: the values again, a new estimate,
 * the preview invalid (and the model reloaded when it is another). */
static void
diffusion_dialog_config_changed (GObject *config, GParamSpec *pspec,
                                 DiffusionDialog *d)
{
  gchar *message;

  (void)pspec;
  message = diffusion_vals_from_object (d->proc, config, &d->vals);
  g_free (message);
  d->shown_valid = FALSE;
  /* At strength 1 the hole starts from noise whatever the fill. */
  if (d->fill != NULL)
    gtk_widget_set_sensitive (d->fill, d->vals.strength < 1.0);
  /* Another model, or another precision (another speed): loaded and
   * measured again. */
  if (g_strcmp0 (d->model_name, d->vals.model) != 0
      || d->vals.precision != d->calibrated_precision)
    diffusion_dialog_model_load (d);
  diffusion_dialog_estimate_update (d);
  gimp_preview_invalidate (GIMP_PREVIEW (d->preview));
}

/* A choice list (fill, precision) into its string argument. */
static void
diffusion_dialog_choice_changed (GtkComboBox *combo, DiffusionDialog *d)
{
  const gchar *name = gtk_combo_box_get_active_id (combo);

  if (name != NULL)
    g_object_set (
        d->config,
        (const gchar *)g_object_get_data (G_OBJECT (combo), "diffusion-arg"),
        name, NULL);
}

/* A box of the dialog's, `id`, with a label and a list of a choice
 * argument's labels (its ids the core's names), on `value`. */
static GtkWidget *
diffusion_dialog_choice_box (DiffusionDialog *d, GimpProcedureDialog *dialog,
                             const gchar *id, const gchar *arg,
                             DiffusionArgKind kind, gint value,
                             const gchar *label_text, const gchar *help)
{
  gchar *text = g_strdup (label_text), *label_id, *box_id;
  GtkWidget *label, *box, *combo;
  gint k;

  if (g_str_has_suffix (text, ":"))
    text[strlen (text) - 1] = '\0'; /* as GIMP 3 labels its arguments */
  label_id = g_strconcat (id, "-label", NULL);
  box_id = g_strconcat (id, "-box", NULL);
  label = gimp_procedure_dialog_get_label (dialog, label_id, text, FALSE, TRUE);
  box = gimp_procedure_dialog_fill_box (dialog, box_id, label_id, NULL);
  gtk_orientable_set_orientation (GTK_ORIENTABLE (box),
                                  GTK_ORIENTATION_HORIZONTAL);
  gtk_box_set_spacing (GTK_BOX (box), 6);
  combo = gtk_combo_box_text_new ();
  for (k = 0; k < diffusion_choice_count (kind); k++)
    gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (combo),
                               diffusion_choice_name (kind, k),
                               _ (diffusion_choice_label (kind, k)));
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (combo),
                               diffusion_choice_name (kind, value));
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), combo);
  gimp_help_set_help_data (combo, help, NULL);
  g_object_set_data (G_OBJECT (combo), "diffusion-arg", (gpointer)arg);
  g_signal_connect (combo, "changed",
                    G_CALLBACK (diffusion_dialog_choice_changed), d);
  gtk_box_pack_start (GTK_BOX (box), combo, TRUE, TRUE, 0);
  gtk_widget_show_all (box);
  g_free (text);
  g_free (label_id);
  g_free (box_id);
  return combo;
}

static void
diffusion_dialog_sampler_changed (GtkComboBox *combo, DiffusionDialog *d)
{
  gchar *name = gtk_combo_box_text_get_active_text (GTK_COMBO_BOX_TEXT (combo));

  if (name != NULL)
    g_object_set (d->config, "sampler", name, NULL);
  g_free (name);
}

/* denoise's sigma for "0": the run's estimate, on the same pixels. */
static gdouble
diffusion_dialog_sigma (DiffusionDialog *d)
{
  const DiffusionPlan *plan = &d->plan;
  /* The core's policy estimates on the central GD_SIGMA_REGION square:
   * only that square is read. */
  gint width = MIN (plan->work_width, GD_SIGMA_REGION);
  gint height = MIN (plan->work_height, GD_SIGMA_REGION);
  DiffusionRegion region;
  gdouble sigma;

  if (!diffusion_dialog_read (d, plan->work_x + (plan->work_width - width) / 2,
                              plan->work_y + (plan->work_height - height) / 2,
                              width, height, &region, NULL))
    return -1.0;
  sigma = gd_tool_estimate_sigma (&region.color, NULL);
  diffusion_region_free (&region);
  return sigma;
}

/* ---------------------------------------------------------------- build */

static void
diffusion_dialog_build (DiffusionDialog *d, GimpProcedure *procedure)
{
  GimpProcedureDialog *dialog;
  GtkWidget *box, *label;
  const char *const *names = gd_sampler_names ();
  const gchar *current = diffusion_vals_sampler (&d->vals);
  GList *ids = NULL;
  gchar *text;
  gint i;

  d->dialog
      = gimp_procedure_dialog_new (procedure, d->config, _ (d->proc->name));
  dialog = GIMP_PROCEDURE_DIALOG (d->dialog);

  d->preview = gimp_procedure_dialog_get_drawable_preview (dialog, "preview",
                                                           d->drawable);
  gimp_help_set_help_data (
      gimp_preview_get_area (GIMP_PREVIEW (d->preview)),
      _ ("The tool run on the visible part (the whole work region when it "
         "is small); scroll to see another part"),
      NULL);
  g_signal_connect_swapped (d->preview, "invalidated",
                            G_CALLBACK (diffusion_dialog_preview_request), d);
  d->preview_label = gimp_procedure_dialog_get_label (dialog, "preview-status",
                                                      "", FALSE, FALSE);
  gtk_label_set_xalign (GTK_LABEL (d->preview_label), 0.0);
  gtk_label_set_ellipsize (GTK_LABEL (d->preview_label), PANGO_ELLIPSIZE_END);
  gimp_help_set_help_data (d->preview_label, _ ("What the preview is doing"),
                           NULL);
  ids = g_list_append (ids, "preview");
  ids = g_list_append (ids, "preview-status");

  switch (d->proc->tool)
    {
    case DIFFUSION_UPSCALE:
      {
        GtkListStore *store
            = gimp_int_store_new (_ ("2 times"), 2, _ ("4 times"), 4, NULL);

        /* (the combo takes the store) */
        gimp_procedure_dialog_get_int_combo (dialog, "scale",
                                             GIMP_INT_STORE (store));
        ids = g_list_append (ids, "scale");
        ids = g_list_append (ids, "strength");
      }
      break;
    case DIFFUSION_DENOISE:
      {
        GtkListStore *store
            = gimp_int_store_new (_ ("Off"), 1, _ ("2 passes"), 2,
                                  _ ("4 passes"), 4, _ ("8 passes"), 8, NULL);

        gimp_procedure_dialog_get_int_combo (dialog, "ensemble",
                                             GIMP_INT_STORE (store));
        if (d->sigma >= 0.0)
          text = g_strdup_printf (_ ("Estimated from the image: %.1f"),
                                  d->sigma);
        else
          text = g_strdup (_ ("The image's noise cannot be estimated: give "
                              "sigma"));
        label = gimp_procedure_dialog_get_label (dialog, "sigma-estimate", text,
                                                 FALSE, FALSE);
        gtk_label_set_xalign (GTK_LABEL (label), 0.0);
        g_free (text);
        ids = g_list_append (ids, "sigma");
        ids = g_list_append (ids, "sigma-estimate");
        ids = g_list_append (ids, "ensemble");
      }
      break;
    case DIFFUSION_INPAINT:
      ids = g_list_append (ids, "strength");
      /* The core's fills, by their labels. */
      d->fill = diffusion_dialog_choice_box (
          d, dialog, "fill", "fill", DIFFUSION_ARG_FILL, d->vals.fill,
          _ ("_Fill:"),
          _ ("What the selection starts from below strength 1: patches of "
             "the image around it (texture and structure), a smooth fill "
             "from its border, or each part by its shape (Auto: patches for "
             "an object, the smooth fill for a thin stroke or a large "
             "area). At strength 1 it starts from noise."));
      gtk_widget_set_sensitive (d->fill, d->vals.strength < 1.0);
      ids = g_list_append (ids, "fill-box");
      break;
    default:
      ids = g_list_append (ids, "strength");
      break;
    }
  ids = g_list_append (ids, "steps");
  /* Sliders for the continuous values (GIMP 3 would show spin buttons). */
  if (d->proc->tool == DIFFUSION_DENOISE)
    gimp_procedure_dialog_get_spin_scale (dialog, "sigma", 1.0);
  else
    gimp_procedure_dialog_get_spin_scale (dialog, "strength", 1.0);
  gimp_procedure_dialog_get_spin_scale (dialog, "steps", 1.0);

  /* The sampler: a list of the core's samplers, not a free text (a box
   * of the dialog's, with its label, and the list packed into it). */
  text = g_strdup (_ ("Sa_mpler:"));
  if (g_str_has_suffix (text, ":"))
    text[strlen (text) - 1] = '\0'; /* as GIMP 3 labels its arguments */
  label = gimp_procedure_dialog_get_label (dialog, "sampler-label", text, FALSE,
                                           TRUE);
  g_free (text);
  box = gimp_procedure_dialog_fill_box (dialog, "sampler-box", "sampler-label",
                                        NULL);
  gtk_orientable_set_orientation (GTK_ORIENTABLE (box),
                                  GTK_ORIENTATION_HORIZONTAL);
  gtk_box_set_spacing (GTK_BOX (box), 6);
  d->sampler = gtk_combo_box_text_new ();
  for (i = 0; names != NULL && names[i] != NULL; i++)
    {
      gtk_combo_box_text_append_text (GTK_COMBO_BOX_TEXT (d->sampler),
                                      names[i]);
      if (strcmp (names[i], current) == 0)
        gtk_combo_box_set_active (GTK_COMBO_BOX (d->sampler), i);
    }
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), d->sampler);
  gimp_help_set_help_data (
      d->sampler,
      _ ("How the reverse process is walked: ddim is deterministic and "
         "fast, ddpm takes every step, the DPM-Solvers need the fewest "
         "steps"),
      NULL);
  g_signal_connect (d->sampler, "changed",
                    G_CALLBACK (diffusion_dialog_sampler_changed), d);
  gtk_box_pack_start (GTK_BOX (box), d->sampler, TRUE, TRUE, 0);
  gtk_widget_show_all (box);
  ids = g_list_append (ids, "sampler-box");

  gimp_procedure_dialog_get_widget (dialog, "seed", GIMP_TYPE_LABEL_SPIN);
  ids = g_list_append (ids, "seed");
  ids = g_list_append (ids, "model");
  diffusion_dialog_choice_box (
      d, dialog, "precision", "precision", DIFFUSION_ARG_PRECISION,
      d->vals.precision, _ ("Prec_ision:"),
      _ ("Exact: 32-bit floats, the same pixels on every computer. Fast: "
         "bfloat16 where the CPU has it (AVX512_BF16, AMX), else Winograd "
         "convolutions (AVX2): a few times faster, pixels a little "
         "different; on older CPUs it is exact."));
  ids = g_list_append (ids, "precision-box");

  d->estimate_label
      = gimp_procedure_dialog_get_label (dialog, "estimate", "", FALSE, FALSE);
  gtk_label_set_xalign (GTK_LABEL (d->estimate_label), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (d->estimate_label), TRUE);
  gimp_help_set_help_data (
      d->estimate_label,
      _ ("How long the run will take: its network evaluations times the "
         "speed measured on this computer"),
      NULL);
  ids = g_list_append (ids, "estimate");

  gimp_procedure_dialog_fill_list (dialog, ids);
  g_signal_connect (d->config, "notify",
                    G_CALLBACK (diffusion_dialog_config_changed), d);
}

/* ---------------------------------------------------------------- tests */

/* GIMP_DIFFUSION_DIALOG_TEST=DIR: once the preview is drawn, the dialog
 * saves DIR/PROC.png (itself) and DIR/PROC.controls (the values, the
 * preview's status, the estimate), then answers as the file DIR/response
 * says, or else GIMP_DIFFUSION_DIALOG_RESPONSE ("cancel", else OK).  The
 * e2e tests run the dialogs this way under Xvfb (the file: a script in
 * GIMP cannot change the environment GIMP gives a plug-in). */
static void
diffusion_dialog_test_snapshot (DiffusionDialog *d)
{
  GdkWindow *window = gtk_widget_get_window (d->dialog);
  gchar *response = g_build_filename (d->test_dir, "response", NULL);
  gchar *answer = NULL;
  GString *text = g_string_new (NULL);
  GdkPixbuf *pixbuf;
  gchar *path;

  d->test_done = TRUE;
  if (!g_file_get_contents (response, &answer, NULL, NULL))
    answer = g_strdup (g_getenv ("GIMP_DIFFUSION_DIALOG_RESPONSE"));
  g_free (response);
  if (answer != NULL)
    g_strstrip (answer);
  pixbuf
      = gdk_pixbuf_get_from_window (window, 0, 0, gdk_window_get_width (window),
                                    gdk_window_get_height (window));
  path = g_strdup_printf ("%s/%s.png", d->test_dir, d->proc->proc);
  if (pixbuf != NULL)
    {
      gdk_pixbuf_save (pixbuf, path, "png", NULL, NULL);
      g_object_unref (pixbuf);
    }
  g_free (path);
  g_string_append_printf (text, "sampler\t%s\n",
                          diffusion_vals_sampler (&d->vals));
  g_string_append_printf (text, "steps\t%d\nseed\t%d\nmodel\t%s\n",
                          d->vals.steps, d->vals.seed, d->vals.model);
  g_string_append_printf (
      text, "fill\t%s\nfill-sensitive\t%d\nprecision\t%s\n",
      diffusion_choice_name (DIFFUSION_ARG_FILL, d->vals.fill),
      d->fill != NULL && gtk_widget_is_sensitive (d->fill),
      diffusion_choice_name (DIFFUSION_ARG_PRECISION, d->vals.precision));
  g_string_append_printf (text, "preview-shown\t%d\n",
                          d->shown != NULL && d->shown_valid);
  g_string_append_printf (text, "preview-status\t%s\n",
                          gtk_label_get_text (GTK_LABEL (d->preview_label)));
  g_string_append_printf (text, "estimate\t%s\n",
                          gtk_label_get_text (GTK_LABEL (d->estimate_label)));
  path = g_strdup_printf ("%s/%s.controls", d->test_dir, d->proc->proc);
  g_file_set_contents (path, text->str, -1, NULL);
  g_free (path);
  g_string_free (text, TRUE);
  gtk_dialog_response (GTK_DIALOG (d->dialog), g_strcmp0 (answer, "cancel") == 0
                                                   ? GTK_RESPONSE_CANCEL
                                                   : GTK_RESPONSE_OK);
  g_free (answer);
}

/* ---------------------------------------------------------------- entry */

gboolean
diffusion_dialog (GimpProcedure *procedure, const DiffusionProcedure *proc,
                  GimpProcedureConfig *config, GimpImage *image,
                  GimpDrawable *drawable, const DiffusionPlan *plan)
{
  DiffusionDialog d;
  gchar *message;
  gboolean run;

  memset (&d, 0, sizeof d);
  d.proc = proc;
  d.config = config;
  d.image = image;
  d.drawable = drawable;
  d.plan = *plan;
  message = diffusion_vals_from_object (proc, G_OBJECT (config), &d.vals);
  g_free (message);

  gimp_ui_init (PLUG_IN_BINARY);
  d.test_dir = g_getenv ("GIMP_DIFFUSION_DIALOG_TEST");
  d.test_deadline = g_get_monotonic_time () + 600 * G_TIME_SPAN_SECOND;
  if (proc->tool == DIFFUSION_DENOISE)
    d.sigma = diffusion_dialog_sigma (&d);

  diffusion_dialog_build (&d, procedure);
  gd_set_threads (0);
  diffusion_dialog_model_load (&d);
  d.poll_id = g_timeout_add (DIFFUSION_POLL_MS, diffusion_dialog_poll, &d);

  run = gimp_procedure_dialog_run (GIMP_PROCEDURE_DIALOG (d.dialog));

  g_signal_handlers_disconnect_by_data (config, &d);
  g_source_remove (d.poll_id);
  diffusion_dialog_stop_jobs (&d);
  if (d.model != NULL)
    gd_model_free (d.model);
  g_free (d.model_name);
  g_free (d.model_error);
  gtk_widget_destroy (d.dialog);
  return run;
}
