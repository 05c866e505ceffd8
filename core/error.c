/* error.c: the readable failure reason every fallible call can fill. */
#include "gimp-diffusion.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
gd_error_set (gd_error *err, gd_status status, const char *fmt, ...)
{
  if (err != NULL)
    {
      va_list ap;

      err->status = status;
      va_start (ap, fmt);
      vsnprintf (err->message, sizeof err->message, fmt, ap);
      va_end (ap);
    }
  return status;
}

void
gd_error_clear (gd_error *err)
{
  if (err != NULL)
    {
      err->status = GD_OK;
      err->message[0] = '\0';
    }
}
