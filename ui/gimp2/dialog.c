/* dialog.c: the GIMP 2.10 dialogs (GTK 2, libgimpui 2.0): one GimpDialog
 * per tool: its parameters, the sampler, seed and model, a time estimate
 * and a preview that runs the tool on the visible region in a background
 * thread (the host layer's preview job). */
#include "config.h"

#include <math.h>
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
  DiffusionVals *vals;
  gint32 image_id;
  gint32 drawable_id;
  DiffusionPlan plan;

  GtkWidget *dialog;
  GtkWidget *preview;
  GtkWidget *preview_label;
  GtkWidget *estimate_label;
  GtkWidget *sigma_label;
  GtkWidget *chooser;
  GtkWidget *fill;             /* inpaint's fill list, or NULL */
  gint32 calibrated_precision; /* the precision the speed was measured at */
  GPtrArray *control_names;    /* for the test hook: names ... */
  GPtrArray *controls;         /* ... and their widgets */
  guint32 seed_value;
  gboolean random_seed;

  gd_model *model;
  gchar *model_error;
  gdouble seconds_per_pixel; /* one network evaluation of one pixel */
  gdouble sigma;             /* denoise: the estimate for sigma = 0 */

  DiffusionJob *job;      /* the background work running, or NULL */
  gboolean calibrated;    /* the speed is measured (or cannot be) */
  gboolean want_preview;  /* a preview must start when `job` ends */
  DiffusionJob *shown;    /* the preview on display */
  gboolean preview_ended; /* a preview has finished, failed or is off */
  gboolean shown_valid;   /* ... made with the current values */
  guint poll_id;

  const gchar *test_dir; /* GIMP_DIFFUSION_DIALOG_TEST: snapshot, answer */
  gboolean test_done;
  gint64 test_deadline;
  gint64 test_snap_at; /* when the redrawn dialog is looked at, or 0 */
} DiffusionDialog;

static void diffusion_dialog_preview_request (DiffusionDialog *d);

static void
diffusion_dialog_control (DiffusionDialog *d, const gchar *name,
                          GtkWidget *widget, const gchar *help)
{
  if (help != NULL)
    gimp_help_set_help_data (widget, help, NULL);
  g_ptr_array_add (d->control_names, (gpointer)name);
  g_ptr_array_add (d->controls, widget);
}

/* ---------------------------------------------------------------- model */

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

  if (d->model == NULL)
    {
      gtk_label_set_text (GTK_LABEL (d->estimate_label), d->model_error);
      return;
    }
  text = diffusion_estimate_text (d->proc, d->vals, d->model,
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
  d->seconds_per_pixel = 0.0;
  d->calibrated = FALSE;
  d->calibrated_precision = d->vals->precision;

  d->model = diffusion_model_load (d->vals->model, &error);
  if (d->model == NULL)
    {
      d->model_error = g_strdup (error->message);
      g_error_free (error);
      d->calibrated = TRUE;
    }
  else
    diffusion_dialog_job_start (d,
                                diffusion_job_new (DIFFUSION_JOB_CALIBRATE,
                                                   d->proc, d->vals, d->model));
  diffusion_dialog_estimate_update (d);
}

/* ---------------------------------------------------------------- preview */

/* Where the preview's job works, in drawable coordinates. */
static void
diffusion_dialog_preview_rect (DiffusionDialog *d, gint *x, gint *y,
                               gint *width, gint *height)
{
  gint px, py, pw, ph;

  gimp_preview_get_position (GIMP_PREVIEW (d->preview), &px, &py);
  gimp_preview_get_size (GIMP_PREVIEW (d->preview), &pw, &ph);
  diffusion_preview_rect (d->proc, d->vals, &d->plan, px, py, pw, ph, x, y,
                          width, height);
}

/* A rectangle of the drawable's pixels. */
static gboolean
diffusion_dialog_read (DiffusionDialog *d, gint x, gint y, gint width,
                       gint height, DiffusionRegion *region, GError **error)
{
  GeglBuffer *buffer = gimp_drawable_get_buffer (d->drawable_id);
  gboolean ok
      = diffusion_region_read (buffer, gimp_drawable_is_gray (d->drawable_id),
                               gimp_drawable_has_alpha (d->drawable_id), x, y,
                               width, height, region, error);

  g_object_unref (buffer);
  return ok;
}

static gboolean
diffusion_dialog_mask_read (DiffusionDialog *d, gint x, gint y, gint width,
                            gint height, gd_image *mask, GError **error)
{
  GeglBuffer *buffer
      = gimp_drawable_get_buffer (gimp_image_get_selection (d->image_id));
  gint offset_x, offset_y;
  gboolean ok;

  gimp_drawable_offsets (d->drawable_id, &offset_x, &offset_y);
  ok = diffusion_mask_read (buffer, offset_x, offset_y, x, y, width, height,
                            mask, error);
  g_object_unref (buffer);
  return ok;
}

static gboolean
diffusion_rect_contains (const DiffusionRegion *outer, gint x, gint y,
                         gint width, gint height)
{
  return x >= outer->x && y >= outer->y && x + width <= outer->x + outer->width
         && y + height <= outer->y + outer->height;
}

/* Does the shown preview cover what is visible now? */
static gboolean
diffusion_dialog_shown_covers (DiffusionDialog *d)
{
  gint x, y, width, height, px, py, pw, ph, x1, y1, x2, y2;

  if (d->shown == NULL || !d->shown_valid)
    return FALSE;
  diffusion_dialog_preview_rect (d, &x, &y, &width, &height);
  if (d->proc->tool == DIFFUSION_UPSCALE)
    return d->shown->region.x == x && d->shown->region.y == y
           && d->shown->region.width == width
           && d->shown->region.height == height;
  /* The visible part of the work region must be in the shown one. */
  gimp_preview_get_position (GIMP_PREVIEW (d->preview), &px, &py);
  gimp_preview_get_size (GIMP_PREVIEW (d->preview), &pw, &ph);
  x1 = MAX (px, d->plan.work_x);
  y1 = MAX (py, d->plan.work_y);
  x2 = MIN (px + pw, d->plan.work_x + d->plan.work_width);
  y2 = MIN (py + ph, d->plan.work_y + d->plan.work_height);
  return x2 <= x1 || y2 <= y1
         || diffusion_rect_contains (&d->shown->region, x1, y1, x2 - x1,
                                     y2 - y1);
}

/* Draws the shown preview: the tool's result where it changes pixels, the
 * original elsewhere (the drawable preview masks it with the selection). */
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
          0, 0, pw, ph, gimp_drawable_type (d->drawable_id), buf, pw * bpp);
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
  job = diffusion_job_new (DIFFUSION_JOB_PREVIEW, d->proc, d->vals, d->model);
  job->image_width = d->plan.image_width;
  job->image_height = d->plan.image_height;
  job->sigma = d->sigma; /* for sigma 0: the run's estimate */
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

/* The preview needs (re)drawing: from what is shown, or by new work. */
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
      /* One job at a time: the running one stops at its next network
       * evaluation and the poll starts the new one. */
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
  /* A finished preview also measures the speed, on the real work. */
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
      /* Ready: the whole dialog is drawn again, and looked at a moment
       * later (an X server without backing store keeps no pixels of a
       * window that has not been drawn). */
      gdk_window_raise (gtk_widget_get_window (d->dialog));
      gtk_widget_queue_draw (d->dialog);
      d->test_snap_at = g_get_monotonic_time () + G_TIME_SPAN_SECOND;
    }
  else if (d->test_snap_at != 0 && !d->test_done
           && g_get_monotonic_time () > d->test_snap_at)
    diffusion_dialog_test_snapshot (d);
  return G_SOURCE_CONTINUE;
}

/* ---------------------------------------------------------------- controls */

static void
diffusion_dialog_changed (DiffusionDialog *d)
{
  /* At strength 1 the hole starts from noise whatever the fill. */
  if (d->fill != NULL)
    gtk_widget_set_sensitive (d->fill, d->vals->strength < 1.0);
  /* Another precision is another speed: measured again. */
  if (d->vals->precision != d->calibrated_precision)
    diffusion_dialog_model_load (d);
  d->shown_valid = FALSE;
  diffusion_dialog_estimate_update (d);
  gimp_preview_invalidate (GIMP_PREVIEW (d->preview));
}

static void
diffusion_dialog_double_changed (GtkAdjustment *adj, gdouble *value)
{
  DiffusionDialog *d = g_object_get_data (G_OBJECT (adj), "diffusion-dialog");

  *value = gtk_adjustment_get_value (adj);
  diffusion_dialog_changed (d);
}

static void
diffusion_dialog_int_changed (GtkAdjustment *adj, gint32 *value)
{
  DiffusionDialog *d = g_object_get_data (G_OBJECT (adj), "diffusion-dialog");

  *value = (gint32)lround (gtk_adjustment_get_value (adj));
  diffusion_dialog_changed (d);
}

/* A GimpIntComboBox's choice into *value (upscale's scale, denoise's
 * self-ensemble, inpaint's fill, the precision). */
static void
diffusion_dialog_int_combo_changed (GtkWidget *combo, gint32 *value)
{
  DiffusionDialog *d = g_object_get_data (G_OBJECT (combo), "diffusion-dialog");
  gint active;

  if (gimp_int_combo_box_get_active (GIMP_INT_COMBO_BOX (combo), &active))
    *value = active;
  diffusion_dialog_changed (d);
}

static void
diffusion_dialog_sampler_changed (GtkComboBox *combo, DiffusionDialog *d)
{
  gchar *name = gtk_combo_box_text_get_active_text (GTK_COMBO_BOX_TEXT (combo));

  if (name != NULL)
    g_strlcpy (d->vals->sampler, name, sizeof d->vals->sampler);
  g_free (name);
  diffusion_dialog_changed (d);
}

static void
diffusion_dialog_seed_changed (GtkAdjustment *adj, DiffusionDialog *d)
{
  d->vals->seed = (gint32)(guint32)gtk_adjustment_get_value (adj);
  diffusion_dialog_changed (d);
}

static void
diffusion_dialog_model_set (GtkFileChooser *chooser, DiffusionDialog *d)
{
  gchar *path = gtk_file_chooser_get_filename (chooser);

  if (path != NULL && strlen (path) < sizeof d->vals->model
      && strcmp (path, d->vals->model) != 0)
    {
      g_strlcpy (d->vals->model, path, sizeof d->vals->model);
      diffusion_dialog_model_load (d);
      diffusion_dialog_changed (d);
    }
  g_free (path);
}

/* The chooser shows the file the values name, or the shipped model's. */
static void
diffusion_dialog_chooser_show (DiffusionDialog *d)
{
  gchar *path = diffusion_model_path_resolve (d->vals->model);

  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    gtk_file_chooser_set_filename (GTK_FILE_CHOOSER (d->chooser), path);
  else
    gtk_file_chooser_unselect_all (GTK_FILE_CHOOSER (d->chooser));
  g_free (path);
}

/* "Shipped model" forgets a chosen file: "" means the default again. */
static void
diffusion_dialog_model_reset (GtkWidget *button, DiffusionDialog *d)
{
  gchar *model = g_strdup (d->vals->model);

  (void)button;
  d->vals->model[0] = '\0';
  diffusion_dialog_chooser_show (d);
  if (model[0] != '\0')
    {
      diffusion_dialog_model_load (d);
      diffusion_dialog_changed (d);
    }
  g_free (model);
}

static GtkObject *
diffusion_dialog_scale_entry (DiffusionDialog *d, GtkWidget *table, gint row,
                              const gchar *name, const gchar *label,
                              gdouble value, gdouble lower, gdouble upper,
                              gdouble step, gdouble page, guint digits,
                              gboolean constrain, gdouble unconstrained_upper,
                              const gchar *help)
{
  GtkObject *adj = gimp_scale_entry_new (
      GTK_TABLE (table), 0, row, label, 200, 6, value, lower, upper, step, page,
      digits, constrain, lower, unconstrained_upper, help, NULL);

  g_object_set_data (G_OBJECT (adj), "diffusion-dialog", d);
  diffusion_dialog_control (d, name, GIMP_SCALE_ENTRY_SCALE (adj), NULL);
  diffusion_dialog_control (d, name, GIMP_SCALE_ENTRY_SPINBUTTON (adj), NULL);
  return adj;
}

/* A list of a choice argument's labels (fill, precision), its values the
 * core's, with the choice in *value. */
static GtkWidget *
diffusion_dialog_choice_combo (DiffusionDialog *d, DiffusionArgKind kind,
                               gint32 *value)
{
  gint n = diffusion_choice_count (kind), k;
  const gchar **labels = g_new (const gchar *, MAX (n, 1));
  GtkWidget *combo;

  for (k = 0; k < n; k++)
    labels[k] = _ (diffusion_choice_label (kind, k));
  combo = gimp_int_combo_box_new_array (n, labels);
  g_free (labels);
  gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (combo), *value);
  g_object_set_data (G_OBJECT (combo), "diffusion-dialog", d);
  g_signal_connect (combo, "changed",
                    G_CALLBACK (diffusion_dialog_int_combo_changed), value);
  return combo;
}

static GtkWidget *
diffusion_dialog_sampler_combo (const gchar *current)
{
  const char *const *names = gd_sampler_names ();
  GtkWidget *combo = gtk_combo_box_text_new ();
  gint i;

  for (i = 0; names != NULL && names[i] != NULL; i++)
    {
      gtk_combo_box_text_append_text (GTK_COMBO_BOX_TEXT (combo), names[i]);
      if (strcmp (names[i], current) == 0)
        gtk_combo_box_set_active (GTK_COMBO_BOX (combo), i);
    }
  return combo;
}

/* The tool's own parameters; returns the next free table row. */
static gint
diffusion_dialog_tool_controls (DiffusionDialog *d, GtkWidget *table)
{
  DiffusionVals *vals = d->vals;
  GtkObject *adj;
  GtkWidget *combo, *hbox;
  gint row = 0;

  switch (d->proc->tool)
    {
    case DIFFUSION_IMG2IMG:
      adj = diffusion_dialog_scale_entry (
          d, table, row++, "strength", _ ("_Strength:"), vals->strength, 0.0,
          1.0, 0.01, 0.1, 2, TRUE, 1.0,
          _ ("How far from the original: 0 keeps the pixels, 1 starts from "
             "pure noise. With a selection only the selection changes and "
             "its surroundings guide the result."));
      g_signal_connect (adj, "value-changed",
                        G_CALLBACK (diffusion_dialog_double_changed),
                        &vals->strength);
      break;

    case DIFFUSION_INPAINT:
      adj = diffusion_dialog_scale_entry (
          d, table, row++, "strength", _ ("_Strength:"), vals->strength, 0.0,
          1.0, 0.01, 0.1, 2, TRUE, 1.0,
          _ ("1 fills the selection anew from its surroundings; below 1 "
             "refines a fill of it made as Fill says"));
      g_signal_connect (adj, "value-changed",
                        G_CALLBACK (diffusion_dialog_double_changed),
                        &vals->strength);
      d->fill
          = diffusion_dialog_choice_combo (d, DIFFUSION_ARG_FILL, &vals->fill);
      gtk_widget_set_sensitive (d->fill, vals->strength < 1.0);
      gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, _ ("_Fill:"), 0.0,
                                 0.5, d->fill, 2, FALSE);
      diffusion_dialog_control (
          d, "fill", d->fill,
          _ ("What the selection starts from below strength 1: patches of "
             "the image around it (texture and structure), a smooth fill "
             "from its border, or each part by its shape (Auto: patches for "
             "an object, the smooth fill for a thin stroke or a large "
             "area). At strength 1 it starts from noise."));
      break;

    case DIFFUSION_UPSCALE:
      combo = gimp_int_combo_box_new (_ ("2 times"), 2, _ ("4 times"), 4, NULL);
      gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (combo), vals->scale);
      g_object_set_data (G_OBJECT (combo), "diffusion-dialog", d);
      g_signal_connect (combo, "changed",
                        G_CALLBACK (diffusion_dialog_int_combo_changed),
                        &vals->scale);
      gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, _ ("Sc_ale:"),
                                 0.0, 0.5, combo, 2, FALSE);
      diffusion_dialog_control (
          d, "scale", combo,
          _ ("How many times wider and taller the image becomes"));
      adj = diffusion_dialog_scale_entry (
          d, table, row++, "strength", _ ("_Strength:"), vals->strength, 0.0,
          1.0, 0.01, 0.1, 2, TRUE, 1.0,
          _ ("1 starts from pure noise; below 1 from the enlarged image "
             "noised part of the way, which needs fewer steps"));
      g_signal_connect (adj, "value-changed",
                        G_CALLBACK (diffusion_dialog_double_changed),
                        &vals->strength);
      break;

    case DIFFUSION_DENOISE:
      adj = diffusion_dialog_scale_entry (
          d, table, row++, "sigma", _ ("Si_gma:"), vals->sigma, 0.0, 100.0, 0.5,
          5.0, 1, FALSE, 255.0,
          _ ("The noise's standard deviation on the 0..255 scale; 0 "
             "estimates it from the image"));
      g_signal_connect (adj, "value-changed",
                        G_CALLBACK (diffusion_dialog_double_changed),
                        &vals->sigma);
      hbox = gtk_hbox_new (FALSE, 0);
      d->sigma_label = gtk_label_new (NULL);
      if (d->sigma >= 0.0)
        {
          gchar *text = g_strdup_printf (_ ("Estimated from the image: %.1f"),
                                         d->sigma);

          gtk_label_set_text (GTK_LABEL (d->sigma_label), text);
          g_free (text);
        }
      else
        gtk_label_set_text (GTK_LABEL (d->sigma_label),
                            _ ("The image's noise cannot be estimated: give "
                               "sigma"));
      gtk_misc_set_alignment (GTK_MISC (d->sigma_label), 0.0, 0.5);
      gtk_box_pack_start (GTK_BOX (hbox), d->sigma_label, FALSE, FALSE, 0);
      gtk_table_attach (GTK_TABLE (table), hbox, 1, 3, row, row + 1, GTK_FILL,
                        GTK_FILL, 0, 0);
      row++;
      diffusion_dialog_control (
          d, "sigma-estimate", d->sigma_label,
          _ ("What sigma 0 uses: the noise level measured on the image"));
      combo
          = gimp_int_combo_box_new (_ ("Off"), 1, _ ("2 passes"), 2,
                                    _ ("4 passes"), 4, _ ("8 passes"), 8, NULL);
      gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (combo),
                                     vals->ensemble);
      g_object_set_data (G_OBJECT (combo), "diffusion-dialog", d);
      g_signal_connect (combo, "changed",
                        G_CALLBACK (diffusion_dialog_int_combo_changed),
                        &vals->ensemble);
      gimp_table_attach_aligned (GTK_TABLE (table), 0, row++,
                                 _ ("Self-e_nsemble:"), 0.0, 0.5, combo, 2,
                                 FALSE);
      diffusion_dialog_control (
          d, "ensemble", combo,
          _ ("Run the model on flips and turns of the image and average: a "
             "little less noise left, as many times the time"));
      break;

    default:
      g_return_val_if_reached (row);
    }
  return row;
}

static void
diffusion_dialog_build (DiffusionDialog *d)
{
  DiffusionVals *vals = d->vals;
  GtkWidget *vbox, *table, *combo, *seed, *hbox, *reset, *spin, *button;
  GtkFileFilter *filter;
  GtkObject *adj;
  gint row;

  d->dialog
      = gimp_dialog_new (_ (d->proc->name), d->proc->role, NULL, 0,
                         gimp_standard_help_func, d->proc->proc, _ ("_Cancel"),
                         GTK_RESPONSE_CANCEL, _ ("_OK"), GTK_RESPONSE_OK, NULL);
  gtk_dialog_set_alternative_button_order (
      GTK_DIALOG (d->dialog), GTK_RESPONSE_OK, GTK_RESPONSE_CANCEL, -1);
  gimp_window_set_transient (GTK_WINDOW (d->dialog));

  vbox = gtk_vbox_new (FALSE, 12);
  gtk_container_set_border_width (GTK_CONTAINER (vbox), 12);
  gtk_box_pack_start (
      GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (d->dialog))), vbox,
      TRUE, TRUE, 0);

  d->preview = gimp_drawable_preview_new_from_drawable_id (d->drawable_id);
  gtk_box_pack_start (GTK_BOX (vbox), d->preview, TRUE, TRUE, 0);
  g_signal_connect_swapped (d->preview, "invalidated",
                            G_CALLBACK (diffusion_dialog_preview_request), d);
  diffusion_dialog_control (
      d, "preview", gimp_preview_get_area (GIMP_PREVIEW (d->preview)),
      _ ("The tool run on the visible part (the whole work region when it "
         "is small); scroll to see another part"));
  diffusion_dialog_control (
      d, "preview-toggle", GIMP_PREVIEW (d->preview)->toggle,
      _ ("Run the tool for the preview (in the background; it can take a "
         "while)"));

  d->preview_label = gtk_label_new (NULL);
  gtk_misc_set_alignment (GTK_MISC (d->preview_label), 0.0, 0.5);
  gtk_label_set_ellipsize (GTK_LABEL (d->preview_label), PANGO_ELLIPSIZE_END);
  gtk_box_pack_start (GTK_BOX (vbox), d->preview_label, FALSE, FALSE, 0);
  diffusion_dialog_control (d, "preview-status", d->preview_label,
                            _ ("What the preview is doing"));

  table = gtk_table_new (10, 3, FALSE);
  gtk_table_set_col_spacings (GTK_TABLE (table), 6);
  gtk_table_set_row_spacings (GTK_TABLE (table), 6);
  gtk_box_pack_start (GTK_BOX (vbox), table, FALSE, FALSE, 0);

  row = diffusion_dialog_tool_controls (d, table);

  adj = diffusion_dialog_scale_entry (
      d, table, row++, "steps", _ ("S_teps:"), vals->steps, 1, 200, 1, 10, 0,
      FALSE, GD_T_MAX,
      _ ("Network evaluations asked for: more is slower and usually finer"));
  g_signal_connect (adj, "value-changed",
                    G_CALLBACK (diffusion_dialog_int_changed), &vals->steps);

  if (vals->sampler[0] == '\0')
    g_strlcpy (vals->sampler, DIFFUSION_DEFAULT_SAMPLER, sizeof vals->sampler);
  combo = diffusion_dialog_sampler_combo (vals->sampler);
  g_signal_connect (combo, "changed",
                    G_CALLBACK (diffusion_dialog_sampler_changed), d);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, _ ("Sa_mpler:"), 0.0,
                             0.5, combo, 2, FALSE);
  diffusion_dialog_control (
      d, "sampler", combo,
      _ ("How the reverse process is walked: ddim is deterministic and "
         "fast, ddpm takes every step, the DPM-Solvers need the fewest "
         "steps"));

  d->seed_value = (guint32)vals->seed;
  seed = gimp_random_seed_new (&d->seed_value, &d->random_seed);
  /* A fixed seed keeps the preview and the result alike: no "Randomize
   * at every run" toggle, a button draws a new seed instead. */
  gtk_widget_hide (GIMP_RANDOM_SEED_TOGGLE (seed));
  gtk_widget_set_no_show_all (GIMP_RANDOM_SEED_TOGGLE (seed), TRUE);
  spin = GIMP_RANDOM_SEED_SPINBUTTON (seed);
  g_signal_connect (GIMP_RANDOM_SEED_SPINBUTTON_ADJ (seed), "value-changed",
                    G_CALLBACK (diffusion_dialog_seed_changed), d);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, _ ("S_eed:"), 0.0,
                             0.5, seed, 2, TRUE);
  diffusion_dialog_control (d, "seed", spin,
                            _ ("The noise's seed: the same seed gives the "
                               "same pixels"));
  button = NULL;
  {
    GList *children = gtk_container_get_children (GTK_CONTAINER (seed));
    GList *l;

    for (l = children; l != NULL; l = l->next)
      if (GTK_IS_BUTTON (l->data) && !GTK_IS_TOGGLE_BUTTON (l->data))
        button = l->data;
    g_list_free (children);
  }
  if (button != NULL)
    diffusion_dialog_control (d, "new-seed", button,
                              _ ("Draw a new random seed"));

  hbox = gtk_hbox_new (FALSE, 6);
  d->chooser = gtk_file_chooser_button_new (_ ("Choose a model file"),
                                            GTK_FILE_CHOOSER_ACTION_OPEN);
  filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _ ("Model files (*.safetensors)"));
  gtk_file_filter_add_pattern (filter, "*.safetensors");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (d->chooser), filter);
  diffusion_dialog_chooser_show (d);
  g_signal_connect (d->chooser, "file-set",
                    G_CALLBACK (diffusion_dialog_model_set), d);
  gtk_box_pack_start (GTK_BOX (hbox), d->chooser, TRUE, TRUE, 0);
  diffusion_dialog_control (d, "model", d->chooser,
                            _ ("A model file (.safetensors); none chosen "
                               "means the model shipped with the plug-in"));
  reset = gtk_button_new_with_mnemonic (_ ("S_hipped model"));
  g_signal_connect (reset, "clicked", G_CALLBACK (diffusion_dialog_model_reset),
                    d);
  gtk_box_pack_start (GTK_BOX (hbox), reset, FALSE, FALSE, 0);
  diffusion_dialog_control (d, "shipped-model", reset,
                            _ ("Use the model shipped with the plug-in"));
  gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, _ ("Mo_del:"), 0.0,
                             0.5, hbox, 2, FALSE);

  combo = diffusion_dialog_choice_combo (d, DIFFUSION_ARG_PRECISION,
                                         &vals->precision);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, _ ("Prec_ision:"),
                             0.0, 0.5, combo, 2, FALSE);
  diffusion_dialog_control (
      d, "precision", combo,
      _ ("Exact: 32-bit floats, the same pixels on every computer. Fast: "
         "bfloat16 where the CPU has it (AVX512_BF16, AMX), else Winograd "
         "convolutions (AVX2): a few times faster, pixels a little "
         "different; on older CPUs it is exact."));

  d->estimate_label = gtk_label_new (NULL);
  gtk_misc_set_alignment (GTK_MISC (d->estimate_label), 0.0, 0.5);
  gtk_label_set_line_wrap (GTK_LABEL (d->estimate_label), TRUE);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, _ ("Time:"), 0.0, 0.5,
                             d->estimate_label, 2, FALSE);
  diffusion_dialog_control (
      d, "estimate", d->estimate_label,
      _ ("How long the run will take: its network evaluations times the "
         "speed measured on this computer"));
}

/* ---------------------------------------------------------------- tests */

/* GIMP_DIFFUSION_DIALOG_TEST=DIR: once the preview is drawn, the dialog
 * saves DIR/PROC.png (itself) and DIR/PROC.controls (each control: name,
 * type, shown, help text; the samplers offered; the labels), then answers
 * as GIMP_DIFFUSION_DIALOG_RESPONSE says ("cancel", else OK).  The e2e
 * tests run the dialogs this way under Xvfb. */
static void
diffusion_dialog_test_snapshot (DiffusionDialog *d)
{
  GdkWindow *window = gtk_widget_get_window (d->dialog);
  const gchar *answer = g_getenv ("GIMP_DIFFUSION_DIALOG_RESPONSE");
  GString *text = g_string_new (NULL);
  GtkAllocation alloc;
  GdkPixbuf *pixbuf;
  gchar *path;
  guint i;

  d->test_done = TRUE;
  gdk_window_process_all_updates ();
  gdk_flush ();
  gtk_widget_get_allocation (d->dialog, &alloc);
  pixbuf = gdk_pixbuf_get_from_drawable (NULL, window, NULL, 0, 0, 0, 0,
                                         alloc.width, alloc.height);
  path = g_strdup_printf ("%s/%s.png", d->test_dir, d->proc->proc);
  if (pixbuf != NULL)
    {
      gdk_pixbuf_save (pixbuf, path, "png", NULL, NULL);
      g_object_unref (pixbuf);
    }
  g_free (path);

  for (i = 0; i < d->controls->len; i++)
    {
      GtkWidget *widget = g_ptr_array_index (d->controls, i);
      gchar *tip = gtk_widget_get_tooltip_text (widget);

      g_string_append_printf (
          text, "control\t%s\t%s\t%s\t%s\t%s\n",
          (const gchar *)g_ptr_array_index (d->control_names, i),
          G_OBJECT_TYPE_NAME (widget),
          gtk_widget_get_mapped (widget) ? "shown" : "hidden", tip ? tip : "",
          gtk_widget_is_sensitive (widget) ? "sensitive" : "insensitive");
      g_free (tip);
    }
  for (i = 0; i < d->controls->len; i++)
    if (strcmp (g_ptr_array_index (d->control_names, i), "sampler") == 0)
      {
        GtkTreeModel *model = gtk_combo_box_get_model (
            GTK_COMBO_BOX (g_ptr_array_index (d->controls, i)));
        GtkTreeIter iter;
        gboolean more = gtk_tree_model_get_iter_first (model, &iter);

        while (more)
          {
            gchar *name = NULL;

            gtk_tree_model_get (model, &iter, 0, &name, -1);
            g_string_append_printf (text, "sampler\t%s\n", name);
            g_free (name);
            more = gtk_tree_model_iter_next (model, &iter);
          }
      }
  if (d->shown != NULL && d->shown_valid)
    {
      /* The preview's own pixels (colour, 8-bit) and where they are: the
       * test compares them with the run's. */
      const gd_image *out = &d->shown->out;
      GdkPixbuf *preview = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8,
                                           out->width, out->height);
      guchar *pixels = gdk_pixbuf_get_pixels (preview);
      gint stride = gdk_pixbuf_get_rowstride (preview);
      gint row, col, c;

      for (row = 0; row < out->height; row++)
        for (col = 0; col < out->width; col++)
          for (c = 0; c < 3; c++)
            pixels[row * stride + col * 3 + c] = diffusion_u8 (
                out->data[((gsize)row * out->width + col) * out->channels
                          + (out->channels == 3 ? c : 0)]);
      path = g_strdup_printf ("%s/%s.preview.png", d->test_dir, d->proc->proc);
      gdk_pixbuf_save (preview, path, "png", NULL, NULL);
      g_free (path);
      g_object_unref (preview);
      g_string_append_printf (text, "preview-region\t%d\t%d\t%d\t%d\n",
                              d->shown->region.x, d->shown->region.y,
                              out->width, out->height);
    }
  g_string_append_printf (text, "preview-status\t%s\n",
                          gtk_label_get_text (GTK_LABEL (d->preview_label)));
  g_string_append_printf (text, "estimate\t%s\n",
                          gtk_label_get_text (GTK_LABEL (d->estimate_label)));
  g_string_append_printf (
      text, "fill\t%s\nprecision\t%s\n",
      diffusion_choice_name (DIFFUSION_ARG_FILL, d->vals->fill),
      diffusion_choice_name (DIFFUSION_ARG_PRECISION, d->vals->precision));
  path = g_strdup_printf ("%s/%s.controls", d->test_dir, d->proc->proc);
  g_file_set_contents (path, text->str, -1, NULL);
  g_free (path);
  g_string_free (text, TRUE);

  gtk_dialog_response (GTK_DIALOG (d->dialog), g_strcmp0 (answer, "cancel") == 0
                                                   ? GTK_RESPONSE_CANCEL
                                                   : GTK_RESPONSE_OK);
}

/* ---------------------------------------------------------------- entry */

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

gboolean
diffusion_dialog (const DiffusionProcedure *proc, gint32 image_id,
                  gint32 drawable_id, const DiffusionPlan *plan,
                  DiffusionVals *vals)
{
  DiffusionDialog d;
  DiffusionVals edited = *vals;
  gboolean run;

  memset (&d, 0, sizeof d);
  d.proc = proc;
  d.vals = &edited;
  d.image_id = image_id;
  d.drawable_id = drawable_id;
  d.plan = *plan;

  gimp_ui_init (PLUG_IN_BINARY, FALSE);
  d.control_names = g_ptr_array_new ();
  d.controls = g_ptr_array_new ();
  d.test_dir = g_getenv ("GIMP_DIFFUSION_DIALOG_TEST");
  d.test_deadline = g_get_monotonic_time () + 600 * G_TIME_SPAN_SECOND;
  if (proc->tool == DIFFUSION_DENOISE)
    d.sigma = diffusion_dialog_sigma (&d);

  diffusion_dialog_build (&d);
  gd_set_threads (0);
  diffusion_dialog_model_load (&d);
  d.poll_id = g_timeout_add (DIFFUSION_POLL_MS, diffusion_dialog_poll, &d);
  gtk_widget_show_all (d.dialog);

  run = gimp_dialog_run (GIMP_DIALOG (d.dialog)) == GTK_RESPONSE_OK;

  g_source_remove (d.poll_id);
  diffusion_dialog_stop_jobs (&d);
  if (d.model != NULL)
    gd_model_free (d.model);
  g_free (d.model_error);
  g_ptr_array_free (d.control_names, TRUE);
  g_ptr_array_free (d.controls, TRUE);
  gtk_widget_destroy (d.dialog);
  if (run)
    *vals = edited;
  return run;
}
