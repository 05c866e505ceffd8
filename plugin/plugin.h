/* plugin.h: what the plug-in's files share: names, last values, helpers. */
#ifndef GD_PLUGIN_H
#define GD_PLUGIN_H

#include <libgimp/gimp.h>

#include "gimp-diffusion.h"

#define PLUG_IN_BINARY "gimp-diffusion"
#define PLUG_IN_ROLE "gimp-diffusion-img2img"
#define IMG2IMG_PROC "plug-in-diffusion-img2img"

#define DIFFUSION_SAMPLER_MAX 32
#define DIFFUSION_PATH_MAX 4096

/* img2img's parameters, stored as they are with gimp_set_data. */
typedef struct
{
  gdouble strength;
  gint32 steps;
  gchar sampler[DIFFUSION_SAMPLER_MAX]; /* "" = ddim */
  gint32 seed;
  gchar model[DIFFUSION_PATH_MAX]; /* "" = the shipped model */
} DiffusionImg2imgVals;

/* The pixels of a drawable's working rectangle: colour for the core, alpha
 * kept aside untouched. */
typedef struct
{
  gint x, y, width, height;
  gboolean has_alpha;
  gd_image color;
  gfloat *alpha; /* width * height, or NULL */
} DiffusionRegion;

/* pixels.c */
gboolean diffusion_region_read (gint32 drawable_id, DiffusionRegion *region,
                                GError **error);
void diffusion_region_write (gint32 drawable_id, const DiffusionRegion *region,
                             const gd_image *result);
void diffusion_region_free (DiffusionRegion *region);

/* model-path.c */
void diffusion_model_path_set_self (const gchar *argv0);
gchar *diffusion_model_path_default (void);
gchar *diffusion_model_path_resolve (const gchar *model);

/* ../ui: the img2img dialog; TRUE when the user pressed OK. */
gboolean diffusion_img2img_dialog (gint32 drawable_id,
                                   DiffusionImg2imgVals *vals);

#endif /* GD_PLUGIN_H */
