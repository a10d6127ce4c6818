/* Umbrella header of libmoebench. */
#ifndef MOEBENCH_H
#define MOEBENCH_H
#include "moebench/error.h"
#include "moebench/mem.h"
#include "moebench/dtype.h"
#include "moebench/tensor.h"
#include "moebench/spec.h"
#include "moebench/weights.h"
#include "moebench/routing.h"
#include "moebench/activation.h"
#include "moebench/cost.h"
#include "moebench/threads.h"
#include "moebench/impl.h"
#include "moebench/compare.h"
#include "moebench/work.h"
#include "moebench/dropout.h"
#include "moebench/adamw.h"
#include "moebench/train.h"
#endif
