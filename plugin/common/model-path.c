/* model-path.c: where the plug-in finds the shipped model. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "host.h"

static gchar *diffusion_self_dir = NULL;

/* Remembers the plug-in's own folder, so that a model installed beside the
 * binary (a per-user install) is found. */
void
diffusion_model_path_set_self (const gchar *argv0)
{
  gchar *self = g_file_read_link ("/proc/self/exe", NULL);

  if (self == NULL && argv0 != NULL && g_path_is_absolute (argv0))
    self = g_strdup (argv0);
  g_free (diffusion_self_dir);
  diffusion_self_dir = self ? g_path_get_dirname (self) : NULL;
  g_free (self);
}

/* GD_MODEL_DIR in the environment wins; then the model beside the plug-in;
 * then the compiled-in folder (gd_model_default_path). */
gchar *
diffusion_model_path_default (void)
{
  const gchar *installed = gd_model_default_path ();
  const gchar *env = g_getenv ("GD_MODEL_DIR");

  if ((env == NULL || env[0] == '\0') && diffusion_self_dir != NULL)
    {
      gchar *name = g_path_get_basename (installed);
      gchar *beside = g_build_filename (diffusion_self_dir, name, NULL);

      g_free (name);
      if (g_file_test (beside, G_FILE_TEST_IS_REGULAR))
        return beside;
      g_free (beside);
    }
  return g_strdup (installed);
}

/* The model a run uses: the one asked for, or the shipped one for "". */
gchar *
diffusion_model_path_resolve (const gchar *model)
{
  if (model == NULL || model[0] == '\0')
    return diffusion_model_path_default ();
  return g_strdup (model);
}

/* Loads the model a run asks for ("" = the shipped one); NULL with a
 * message that names the file when it cannot. */
gd_model *
diffusion_model_load (const gchar *model, GError **error)
{
  gchar *path = diffusion_model_path_resolve (model);
  gd_model *loaded;
  gd_error err;

  gd_error_clear (&err);
  loaded = gd_model_load (path, &err);
  if (loaded == NULL)
    g_set_error (error, diffusion_error_quark (), 0,
                 _ ("Cannot load the model %s: %s"), path, err.message);
  g_free (path);
  return loaded;
}
