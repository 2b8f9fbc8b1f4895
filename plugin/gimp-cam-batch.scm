; gimp-cam-batch.scm -- batch helpers for the gimp-cam plug-in (plug-in-cam-heatmap).
;
; Installed in GIMP's Script-Fu scripts folder (<GIMP data dir>/scripts, or
; ~/.config/GIMP/3.0/scripts for a per-user install). GIMP 3.0's Script-Fu loads
; every .scm there when it starts, so these functions can be called from
; gimp-console's batch mode:
;
;   gimp-console-3.0 -i --quit --batch-interpreter=plug-in-script-fu-eval \
;     -b '(gimp-cam-heatmap-file "photo.png" "photo-cam.png" "fashion-mnist" "default")'
;
;   gimp-console-3.0 -i --quit --batch-interpreter=plug-in-script-fu-eval \
;     -b '(gimp-cam-heatmap-folder "photos" "heatmaps" "cifar10" "grad-cam")'
;
; model:  "fashion-mnist", "cifar10", or the path of an .onnx file
; method: "default" (the model's default), "cam", "grad-cam" or "grad-cam-tutorial"
; Everything else takes the model's defaults (top class, automatic layer, the
; model's alpha and colormap). For each image, the selected layer is explained,
; the heatmap layer is merged with the image, and the result is written as PNG
; (the folder helper writes <output folder>/<name>.png). One line per image is
; printed:
;
;   photo.png: Sneaker 99.4% (class 7) -> heatmaps/photo.png
;
; A file that cannot be loaded or explained is reported ("photo.png: FAILED")
; and skipped. gimp-cam-heatmap-folder returns the number of failures;
; gimp-cam-heatmap-file returns (class-index label probability), the canonical
; (untranslated) label.
;
; Copyright (C) 2026 the gimp-cam authors. GPL-3.0-or-later.

(define gimp-cam-image-extensions
  '("png" "jpg" "jpeg" "tif" "tiff" "webp" "bmp" "gif" "xcf" "pnm" "ppm" "pgm"))

; "dir/name.ext" -> "name"
(define (gimp-cam-file-stem path)
  (let* ((parts (strbreakup path "/"))
         (base (car (reverse parts)))
         (pieces (strbreakup base ".")))
    (if (> (length pieces) 1)
        (unbreakupstr (reverse (cdr (reverse pieces))) ".")
        base)))

; "dir/name.EXT" -> "ext"
(define (gimp-cam-file-extension path)
  (let ((pieces (strbreakup (car (reverse (strbreakup path "/"))) ".")))
    (if (> (length pieces) 1)
        (list->string (map char-downcase (string->list (car (reverse pieces)))))
        "")))

(define (gimp-cam-percent probability)
  (number->string (/ (round (* probability 1000)) 10)))

; The work on one loaded image; returns (class-index label probability).
(define (gimp-cam-explain-image image model method)
  (let* ((layer (vector-ref (car (gimp-image-get-selected-layers image)) 0))
         (is-file (and (> (string-length model) 5)
                       (string=? (gimp-cam-file-extension model) "onnx")))
         (result
          (if is-file
              (plug-in-cam-heatmap #:run-mode RUN-NONINTERACTIVE #:image image
                                   #:drawables (vector layer)
                                   #:model "file" #:model-file model #:method method)
              (plug-in-cam-heatmap #:run-mode RUN-NONINTERACTIVE #:image image
                                   #:drawables (vector layer)
                                   #:model model #:method method))))
    (list (car result) (cadr result) (caddr result))))

(define (gimp-cam-heatmap-file input output model method)
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE input)))
         (result (gimp-cam-explain-image image model method)))
    (gimp-image-merge-visible-layers image CLIP-TO-IMAGE)
    (gimp-file-save RUN-NONINTERACTIVE image output -1)
    (gimp-image-delete image)
    (display (string-append input ": " (cadr result) " "
                            (gimp-cam-percent (caddr result)) "% (class "
                            (number->string (car result)) ") -> " output))
    (newline)
    result))

(define (gimp-cam-heatmap-folder input-folder output-folder model method)
  (let loop ((files (car (file-glob #:pattern (string-append input-folder "/*")
                                    #:filename-encoding TRUE)))
             (failures 0))
    (cond
     ((null? files) failures)
     ((not (member (gimp-cam-file-extension (car files)) gimp-cam-image-extensions))
      (loop (cdr files) failures))
     (else
      (let* ((input (car files))
             (output (string-append output-folder "/" (gimp-cam-file-stem input) ".png"))
             (ok (catch #f (gimp-cam-heatmap-file input output model method))))
        (if (not ok)
            (begin (display (string-append input ": FAILED")) (newline)))
        (loop (cdr files) (if ok failures (+ failures 1))))))))
