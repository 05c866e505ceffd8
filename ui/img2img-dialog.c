/* img2img-dialog.c: the img2img ("Refine") dialog, a minimal GimpDialog. */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "plugin.h"

/* "Shipped model" forgets a chosen file: "" means the default again. */
static void
diffusion_model_reset (GtkWidget *button, GtkFileChooser *chooser)
{
  (void)button;
  gtk_file_chooser_unselect_all (chooser);
}

static GtkWidget *
diffusion_sampler_combo (const gchar *current)
{
  const char *const *names = gd_sampler_names ();
  GtkWidget *combo = gtk_combo_box_text_new ();
  gint i;

  if (current[0] == '\0')
    current = "ddim";
  gtk_combo_box_text_append_text (GTK_COMBO_BOX_TEXT (combo), current);
  gtk_combo_box_set_active (GTK_COMBO_BOX (combo), 0);
  for (i = 0; names != NULL && names[i] != NULL; i++)
    if (strcmp (names[i], current) != 0)
      gtk_combo_box_text_append_text (GTK_COMBO_BOX_TEXT (combo), names[i]);
  return combo;
}

gboolean
diffusion_img2img_dialog (gint32 drawable_id, DiffusionImg2imgVals *vals)
{
  GtkWidget *dialog, *vbox, *table, *combo, *seed, *chooser, *reset, *hbox;
  GtkObject *strength_adj, *steps_adj;
  GtkFileFilter *filter;
  guint32 seed_value = (guint32)vals->seed;
  gboolean random_seed = FALSE;
  gboolean run;

  (void)drawable_id;
  gimp_ui_init (PLUG_IN_BINARY, FALSE);

  dialog
      = gimp_dialog_new (_ ("Refine (img2img)"), PLUG_IN_ROLE, NULL, 0,
                         gimp_standard_help_func, IMG2IMG_PROC, _ ("_Cancel"),
                         GTK_RESPONSE_CANCEL, _ ("_OK"), GTK_RESPONSE_OK, NULL);
  gtk_dialog_set_alternative_button_order (GTK_DIALOG (dialog), GTK_RESPONSE_OK,
                                           GTK_RESPONSE_CANCEL, -1);
  gimp_window_set_transient (GTK_WINDOW (dialog));

  vbox = gtk_vbox_new (FALSE, 12);
  gtk_container_set_border_width (GTK_CONTAINER (vbox), 12);
  gtk_box_pack_start (
      GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (dialog))), vbox, TRUE,
      TRUE, 0);

  table = gtk_table_new (5, 3, FALSE);
  gtk_table_set_col_spacings (GTK_TABLE (table), 6);
  gtk_table_set_row_spacings (GTK_TABLE (table), 6);
  gtk_box_pack_start (GTK_BOX (vbox), table, FALSE, FALSE, 0);

  strength_adj = gimp_scale_entry_new (
      GTK_TABLE (table), 0, 0, _ ("_Strength:"), 200, 6, vals->strength, 0.0,
      1.0, 0.01, 0.1, 2, TRUE, 0, 0,
      _ ("How far from the original: 0 keeps the layer, 1 starts from pure "
         "noise"),
      NULL);
  steps_adj = gimp_scale_entry_new (
      GTK_TABLE (table), 0, 1, _ ("S_teps:"), 200, 6, vals->steps, 1, 200, 1,
      10, 0, FALSE, 1, GD_T_MAX,
      _ ("Network evaluations: more is slower and usually finer"), NULL);

  combo = diffusion_sampler_combo (vals->sampler);
  gimp_help_set_help_data (combo,
                           _ ("How the reverse process is walked: ddim is "
                              "deterministic and fast"),
                           NULL);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, 2, _ ("Sa_mpler:"), 0.0, 0.5,
                             combo, 2, FALSE);

  seed = gimp_random_seed_new (&seed_value, &random_seed);
  gimp_help_set_help_data (seed, _ ("The same seed gives the same pixels"),
                           NULL);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, 3, _ ("Seed:"), 0.0, 0.5,
                             seed, 2, TRUE);

  hbox = gtk_hbox_new (FALSE, 6);
  chooser = gtk_file_chooser_button_new (_ ("Choose a model file"),
                                         GTK_FILE_CHOOSER_ACTION_OPEN);
  filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _ ("Model files (*.safetensors)"));
  gtk_file_filter_add_pattern (filter, "*.safetensors");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  if (vals->model[0] != '\0')
    gtk_file_chooser_set_filename (GTK_FILE_CHOOSER (chooser), vals->model);
  gimp_help_set_help_data (chooser,
                           _ ("A model file; none chosen means the shipped "
                              "model"),
                           NULL);
  gtk_box_pack_start (GTK_BOX (hbox), chooser, TRUE, TRUE, 0);
  reset = gtk_button_new_with_mnemonic (_ ("S_hipped model"));
  gimp_help_set_help_data (reset, _ ("Use the model shipped with the plug-in"),
                           NULL);
  g_signal_connect (reset, "clicked", G_CALLBACK (diffusion_model_reset),
                    chooser);
  gtk_box_pack_start (GTK_BOX (hbox), reset, FALSE, FALSE, 0);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, 4, _ ("M_odel:"), 0.0, 0.5,
                             hbox, 2, FALSE);

  gtk_widget_show_all (dialog);
  run = gimp_dialog_run (GIMP_DIALOG (dialog)) == GTK_RESPONSE_OK;

  if (run)
    {
      gchar *sampler
          = gtk_combo_box_text_get_active_text (GTK_COMBO_BOX_TEXT (combo));
      gchar *model = gtk_file_chooser_get_filename (GTK_FILE_CHOOSER (chooser));

      vals->strength = gtk_adjustment_get_value (GTK_ADJUSTMENT (strength_adj));
      vals->steps
          = (gint32)gtk_adjustment_get_value (GTK_ADJUSTMENT (steps_adj));
      g_strlcpy (vals->sampler, sampler ? sampler : "ddim",
                 sizeof vals->sampler);
      vals->seed = (gint32)seed_value;
      if (model == NULL || strlen (model) < sizeof vals->model)
        g_strlcpy (vals->model, model ? model : "", sizeof vals->model);
      g_free (sampler);
      g_free (model);
    }
  gtk_widget_destroy (dialog);
  return run;
}
