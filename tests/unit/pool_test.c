/* pool_test.c - buffers are recycled, and the large ones are capped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pool.h"

static void test_small_buffers_are_recycled_lifo(void **state)
{
    struct ing_pool pool;

    (void)state;
    ing_pool_init(&pool, 1024, 8192, 2);
    struct ing_buf *a = ing_pool_get_small(&pool);
    struct ing_buf *b = ing_pool_get_small(&pool);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_int_equal(a->cap, 1024);
    assert_false(a->large);

    ing_pool_put(&pool, a);
    ing_pool_put(&pool, b);
    assert_ptr_equal(ing_pool_get_small(&pool), b);
    assert_ptr_equal(ing_pool_get_small(&pool), a);
    ing_pool_put(&pool, a);
    ing_pool_put(&pool, b);
    ing_pool_fini(&pool);
}

static void test_large_buffers_stop_at_the_cap(void **state)
{
    struct ing_pool pool;

    (void)state;
    ing_pool_init(&pool, 1024, 8192, 2);
    struct ing_buf *a = ing_pool_get_large(&pool);
    struct ing_buf *b = ing_pool_get_large(&pool);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a->large);
    assert_int_equal(a->cap, 8192);
    assert_null(ing_pool_get_large(&pool));

    ing_pool_put(&pool, a);
    struct ing_buf *again = ing_pool_get_large(&pool);
    assert_ptr_equal(again, a);
    assert_null(ing_pool_get_large(&pool));

    ing_pool_put(&pool, again);
    ing_pool_put(&pool, b);
    assert_int_equal(pool.large_in_use, 0);
    ing_pool_fini(&pool);
}

static void test_whole_buffer_is_writable(void **state)
{
    struct ing_pool pool;

    (void)state;
    ing_pool_init(&pool, 4096, 65536, 1);
    struct ing_buf *s = ing_pool_get_small(&pool);
    struct ing_buf *l = ing_pool_get_large(&pool);
    for (size_t i = 0; i < s->cap; i++) {
        s->data[i] = (char)i;
    }
    for (size_t i = 0; i < l->cap; i++) {
        l->data[i] = (char)i;
    }
    assert_int_equal((unsigned char)s->data[4095], 255);
    ing_pool_put(&pool, s);
    ing_pool_put(&pool, l);
    ing_pool_fini(&pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_buffers_are_recycled_lifo),
        cmocka_unit_test(test_large_buffers_stop_at_the_cap),
        cmocka_unit_test(test_whole_buffer_is_writable),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
