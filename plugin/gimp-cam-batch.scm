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
; and, in GIMP's Script-Fu console (Filters > Development > Script-Fu > Console),
;
;   (gimp-cam-heatmap-gallery "/home/me/photos" "fashion-mnist" "default" 4 "")
;
; opens a new image holding every image's map as one layer (see below).
;
; model:  "fashion-mnist", "cifar10", an installed model's name, or the path of an .onnx file
; method: "default" (the model's default) or any method name the plug-in takes: "cam",
;         "grad-cam", "grad-cam-tutorial", "hires-cam", "grad-cam++", "xgrad-cam",
;         "grad-cam-elementwise", "layer-cam", "eigen-cam", "eigen-grad-cam", "kpca-cam",
;         "finer-cam", "smooth-grad-cam++", "random", "score-cam", "ss-cam", "is-cam",
;         "ablation-cam", "recipro-cam", ... (every method of the engine; the helpers pass
;         it on unchanged, and the plug-in lists the valid names in its error)
; Optional, after method: the output ("heatmap" by default, "blend", "selection",
; "mask", "bounding-box" or "compare"), the threshold of "selection" and
; "bounding-box" (default 0.2), eigen smoothing and augmentation smoothing (TRUE or
; FALSE, default FALSE; the plug-in's eigen-smooth and aug-smooth):
;
;   (gimp-cam-heatmap-file "photo.png" "photo-cam.xcf" "cifar10" "default" "selection" 0.3)
;   (gimp-cam-heatmap-file "photo.png" "photo-cam.png" "cifar10" "layer-cam" "heatmap" 0.2 TRUE FALSE)
;
; A selection and a path are kept only by XCF files: give the file helper an .xcf
; output for them; the folder helper then writes <name>.xcf instead of <name>.png.
; Everything else takes the model's defaults (top class, automatic layer, the
; model's alpha and colormap). For each image, the selected layer is explained,
; the heatmap layer is merged with the image, and the result is written as PNG
; (the folder helper writes <output folder>/<name>.png). One line per image is
; printed:
;
;   photo.png: Sneaker 99.4% (class 7) -> heatmaps/photo.png
;
; A file that cannot be loaded or explained is reported ("photo.png: FAILED")
; and skipped; at the end, if any failed, gimp-cam-heatmap-folder raises a Script-Fu
; error "gimp-cam-heatmap-folder: N of M images failed", so gimp-console exits with a
; non-zero status (else it returns 0, the number of failures). A missing input or output
; folder is an error before any image is read (Script-Fu cannot create folders: create
; the output folder first). An output that would be one of the input files (the output
; folder is the input folder and it holds <name>.png) is a failure, never overwritten;
; gimp-cam-heatmap-file refuses an output equal to its input. The result is exported by
; the plug-in (its export-file argument) to a temporary file beside the output, renamed
; over it only when the export succeeded: a failed export (a full disk) is an error and
; leaves no partial file; a previous file at the output stays as it was. Unknown model or method
; values are calling errors of plug-in-cam-heatmap naming the argument.
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

; The work on one loaded image; returns (class-index label probability). With an
; export path ("" for none) the plug-in also exports the result, merged, to that file:
; under a temporary name in the same folder, renamed over the file only when the export
; succeeded (Script-Fu has no rename), so a full disk leaves no partial file.
; options: () or (output) or (output threshold) or (output threshold eigen-smooth) or
; (output threshold eigen-smooth aug-smooth), passed on as the plug-in's #:output,
; #:threshold, #:eigen-smooth and #:aug-smooth.
(define (gimp-cam-option options k default)
  (cond ((null? options) default)
        ((= k 0) (car options))
        (else (gimp-cam-option (cdr options) (- k 1) default))))

; TRUE, #t or a non-zero number -> TRUE; anything else -> FALSE
(define (gimp-cam-boolean value)
  (if (or (eq? value #t) (and (number? value) (not (= value 0)))) TRUE FALSE))

(define (gimp-cam-explain-image image model method export . options)
  (let* ((layer (vector-ref (car (gimp-image-get-selected-layers image)) 0))
         (is-file (and (> (string-length model) 5)
                       (string=? (gimp-cam-file-extension model) "onnx")))
         (output (gimp-cam-option options 0 "heatmap"))
         (threshold (gimp-cam-option options 1 0.2))
         (eigen-smooth (gimp-cam-boolean (gimp-cam-option options 2 FALSE)))
         (aug-smooth (gimp-cam-boolean (gimp-cam-option options 3 FALSE)))
         (exporting (> (string-length export) 0))
         (result
          (cond
           ((and is-file exporting)
            (plug-in-cam-heatmap #:run-mode RUN-NONINTERACTIVE #:image image
                                 #:drawables (vector layer)
                                 #:model "file" #:model-file model #:method method
                                 #:output output #:threshold threshold
                                 #:eigen-smooth eigen-smooth #:aug-smooth aug-smooth
                                 #:export-file export))
           (is-file
            (plug-in-cam-heatmap #:run-mode RUN-NONINTERACTIVE #:image image
                                 #:drawables (vector layer)
                                 #:model "file" #:model-file model #:method method
                                 #:output output #:threshold threshold
                                 #:eigen-smooth eigen-smooth #:aug-smooth aug-smooth))
           (exporting
            (plug-in-cam-heatmap #:run-mode RUN-NONINTERACTIVE #:image image
                                 #:drawables (vector layer)
                                 #:model model #:method method
                                 #:output output #:threshold threshold
                                 #:eigen-smooth eigen-smooth #:aug-smooth aug-smooth
                                 #:export-file export))
           (else
            (plug-in-cam-heatmap #:run-mode RUN-NONINTERACTIVE #:image image
                                 #:drawables (vector layer)
                                 #:model model #:method method
                                 #:output output #:threshold threshold
                                 #:eigen-smooth eigen-smooth #:aug-smooth aug-smooth)))))
    (list (car result) (cadr result) (caddr result))))

(define (gimp-cam-exists? path)
  (not (null? (car (file-glob #:pattern path #:filename-encoding TRUE)))))

(define (gimp-cam-heatmap-file input output model method . options)
  (if (string=? input output)
      (error (string-append "gimp-cam-heatmap-file: the output " output
                            " is the input; it would be overwritten")))
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE input)))
         (result (apply gimp-cam-explain-image image model method output options)))
    (gimp-image-delete image)
    (display (string-append input ": " (cadr result) " "
                            (gimp-cam-percent (caddr result)) "% (class "
                            (number->string (car result)) ") -> " output))
    (newline)
    result))

; The folder's output files: <name>.png, or <name>.xcf for the outputs that live
; in an XCF file only (a selection, a path).
(define (gimp-cam-output-extension options)
  (if (and (pair? options)
           (member (car options) '("selection" "bounding-box")))
      ".xcf"
      ".png"))

(define (gimp-cam-heatmap-folder input-folder output-folder model method . options)
  (if (not (gimp-cam-exists? input-folder))
      (error (string-append "gimp-cam-heatmap-folder: the input folder " input-folder
                            " does not exist")))
  (if (not (gimp-cam-exists? output-folder))
      (error (string-append "gimp-cam-heatmap-folder: the output folder " output-folder
                            " does not exist (create it first)")))
  (let* ((all (car (file-glob #:pattern (string-append input-folder "/*")
                              #:filename-encoding TRUE)))
         (count 0))
    (let loop ((files all)
               (failures 0))
      (cond
       ((null? files)
        (if (> failures 0)
            (error (string-append "gimp-cam-heatmap-folder: " (number->string failures)
                                  " of " (number->string count) " images failed")))
        failures)
       ((not (member (gimp-cam-file-extension (car files)) gimp-cam-image-extensions))
        (loop (cdr files) failures))
       (else
        (set! count (+ count 1))
        (let* ((input (car files))
               (output (string-append output-folder "/" (gimp-cam-file-stem input)
                                      (gimp-cam-output-extension options)))
               (clash (member output all))
               (ok (and (not clash)
                        (catch #f (apply gimp-cam-heatmap-file input output model method
                                         options)))))
          (if clash
              (begin (display (string-append input ": FAILED: the output " output
                                             " is an input file; not overwritten"))
                     (newline))
              (if (not ok)
                  (begin (display (string-append input ": FAILED")) (newline))))
          (loop (cdr files) (if ok failures (+ failures 1)))))))))

; The gallery helper: the images of a folder, each merged with its heatmap layer (what
; the file helper writes), as the layers of one new image, so they can be toggled and
; compared. Like cam-heatmap --gallery, but with GIMP layers instead of a contact sheet.
;
;   (gimp-cam-heatmap-gallery input-folder model method columns class)
;
; columns: layers per row of the grid (0: about the square root of the count)
; class:   "" for every image, or a canonical label ("Sneaker", "cat"): only the images
;          predicted as that class (as the Fashion-MNIST lab's show_maps does)
; Each layer is named "<file name>: <label> <probability>%" and placed on a grid whose
; cells are as large as the largest image, in file-name order from the top of the layer
; stack down. Returns the new image (shown in a new window when GIMP has one); prints one
; line per image. An image that cannot be loaded or explained is reported ("x.png:
; FAILED") and left out; no image at all (none readable, or none of the class) is an error.
; Strings in ascending order (insertion sort: folders are small).
(define (gimp-cam-sort-strings items)
  (define (insert x sorted)
    (if (or (null? sorted) (string<? x (car sorted)))
        (cons x sorted)
        (cons (car sorted) (insert x (cdr sorted)))))
  (let loop ((rest items) (sorted '()))
    (if (null? rest) sorted (loop (cdr rest) (insert (car rest) sorted)))))

(define (gimp-cam-ceil-sqrt n)
  (let loop ((r 1))
    (if (< (* r r) n) (loop (+ r 1)) r)))

; One image of the gallery: (layer width height), or 'other-class.
(define (gimp-cam-gallery-layer input model method class gallery position)
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE input)))
         (result (gimp-cam-explain-image image model method ""))
         (label (cadr result)))
    (if (and (> (string-length class) 0) (not (string=? class label)))
        (begin
          (gimp-image-delete image)
          'other-class)
        (let* ((merged (car (gimp-image-merge-visible-layers image CLIP-TO-IMAGE)))
               (layer (car (gimp-layer-new-from-drawable merged gallery)))
               (name (string-append (car (reverse (strbreakup input "/"))) ": " label " "
                                    (gimp-cam-percent (caddr result)) "%")))
          (gimp-image-insert-layer gallery layer 0 position)
          (gimp-item-set-name layer name)
          (gimp-image-delete image)
          (display (string-append input ": " label " " (gimp-cam-percent (caddr result))
                                  "% (class " (number->string (car result))
                                  ") -> layer \"" name "\""))
          (newline)
          (list layer (car (gimp-drawable-get-width layer))
                (car (gimp-drawable-get-height layer)))))))

(define (gimp-cam-heatmap-gallery input-folder model method columns class)
  (if (not (gimp-cam-exists? input-folder))
      (error (string-append "gimp-cam-heatmap-gallery: the input folder " input-folder
                            " does not exist")))
  (let* ((all (gimp-cam-sort-strings
               (car (file-glob #:pattern (string-append input-folder "/*")
                               #:filename-encoding TRUE))))
         (gallery (car (gimp-image-new 1 1 RGB)))
         (layers '())
         (count 0)
         (failures 0))
    (gimp-image-undo-disable gallery)
    (for-each
     (lambda (input)
       (if (member (gimp-cam-file-extension input) gimp-cam-image-extensions)
           (let ((tile (catch #f (gimp-cam-gallery-layer input model method class gallery
                                                         (length layers)))))
             (set! count (+ count 1))
             (cond ((not tile)
                    (set! failures (+ failures 1))
                    (display (string-append input ": FAILED"))
                    (newline))
                   ((pair? tile) (set! layers (append layers (list tile))))))))
     all)
    (if (null? layers)
        (begin
          (gimp-image-delete gallery)
          (error (string-append "gimp-cam-heatmap-gallery: no image"
                                (if (> (string-length class) 0)
                                    (string-append " predicted as " class) "")
                                " among the " (number->string count) " images of "
                                input-folder))))
    (let* ((n (length layers))
           (cols (if (> columns 0) (min columns n) (gimp-cam-ceil-sqrt n)))
           (rows (quotient (+ n cols -1) cols))
           (gap 8)
           (cell-w (apply max (map cadr layers)))
           (cell-h (apply max (map caddr layers))))
      (let loop ((k 0) (rest layers))
        (if (pair? rest)
            (let ((tile (car rest)))
              (gimp-layer-set-offsets
               (car tile)
               (+ gap (* (remainder k cols) (+ cell-w gap)) (quotient (- cell-w (cadr tile)) 2))
               (+ gap (* (quotient k cols) (+ cell-h gap)) (quotient (- cell-h (caddr tile)) 2)))
              (loop (+ k 1) (cdr rest)))))
      (gimp-image-resize gallery (+ gap (* cols (+ cell-w gap))) (+ gap (* rows (+ cell-h gap)))
                         0 0))
    (gimp-image-undo-enable gallery)
    (if (> failures 0)
        (begin (display (string-append "gimp-cam-heatmap-gallery: " (number->string failures)
                                       " of " (number->string count) " images failed"))
               (newline)))
    (catch #f (gimp-display-new gallery))
    gallery))
